"""A resumable stream of training batches: the order is a pure function of (seed, step).

`tf.data`'s `shuffle(reshuffle_each_iteration=True)` draws each epoch's order from the
iterator's hidden state, so a process that restarts after a crash gets a different order: the
resumed run would see other batches than the uninterrupted one, and mid-epoch it could not know
which batches the dead process had already used. Here the order is stateless instead:

- the training ids are cut into windows of `sequence_length + 1` tokens starting every
  `stride` tokens (x = window[:-1], y = window[1:]);
- pass `p` over the windows uses the permutation `stateless_shuffle(range(N), seed=[seed, p])`
  and is cut into `N // batch_size` full batches, so batch `g` of the whole run lies in pass
  `g // batches_per_pass` at position `g % batches_per_pass`;
- `lm_batches(..., start_step=g)` starts the endless stream exactly at batch `g`, without
  computing the batches before it.

So a run resumed from a backup taken after `g` optimizer steps sees the very batches the
uninterrupted run sees from step `g` on. Only indices are shuffled; the windows are gathered
from one int32 tensor of ids, so no shuffle buffer is needed and any stride (1 = every offset,
as nanoGPT samples) costs the same memory.
"""

import numpy as np
import tensorflow as tf

from tlm.checks import check_fits_one_batch


def count_windows(num_ids, sequence_length, stride=None):
    """Number of (x, y) windows of `sequence_length` in `num_ids` tokens.

    Example:

    >>> count_windows(10, 4), count_windows(10, 4, stride=1), count_windows(4, 4)
    (2, 6, 0)
    """
    stride = stride or sequence_length
    if num_ids < sequence_length + 1:
        return 0
    return (num_ids - sequence_length - 1) // stride + 1


def lm_batches(
    ids, sequence_length, batch_size, *, stride=None, seed=0, shuffle=True, start_step=0
):
    """Endless `tf.data.Dataset` of `(x, y)` int32 batches `(batch_size, sequence_length)`.

    Args:
        ids: 1-D int array of token ids (`LMData.train_ids`).
        sequence_length: int, tokens per example.
        batch_size: int, examples per batch (the global batch under a distribution strategy).
        stride: int, offset between window starts. Defaults to `sequence_length`.
        seed: int, seeds every pass's permutation.
        shuffle: bool, False keeps the windows in corpus order.
        start_step: int, index of the first batch (the optimizer step to resume at).

    Example:

    >>> ids = np.arange(21, dtype="int32")
    >>> x, y = next(iter(lm_batches(ids, 4, 2, shuffle=False)))
    >>> x.numpy().tolist(), y.numpy()[0].tolist()
    ([[0, 1, 2, 3], [4, 5, 6, 7]], [1, 2, 3, 4])
    >>> later = next(iter(lm_batches(ids, 4, 2, seed=3, start_step=5)))[0]
    >>> stream = iter(lm_batches(ids, 4, 2, seed=3))
    >>> batches = [next(stream)[0] for _ in range(6)]
    >>> bool((batches[5].numpy() == later.numpy()).all())
    True
    """
    stride = stride or sequence_length
    num_windows = count_windows(len(ids), sequence_length, stride)
    check_fits_one_batch("train", len(ids), num_windows, sequence_length, batch_size, stride)
    batches_per_pass = num_windows // batch_size
    ids = tf.constant(np.asarray(ids, dtype="int32"))
    offsets = tf.range(sequence_length + 1, dtype="int64")

    def one_pass(pass_index):
        order = tf.range(num_windows, dtype="int64")
        if shuffle:
            seeds = tf.stack([tf.constant(seed, "int64"), pass_index])
            order = tf.random.experimental.stateless_shuffle(order, seed=seeds)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=True)

    def gather(window_indices):
        starts = window_indices * stride
        windows = tf.gather(ids, starts[:, None] + offsets[None, :])
        return windows[:, :-1], windows[:, 1:]  # (batch_size, sequence_length) each

    first_pass, skip = divmod(int(start_step), batches_per_pass)
    passes = tf.data.Dataset.range(first_pass, np.iinfo(np.int64).max)
    return (
        passes.flat_map(one_pass)
        .skip(skip)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
