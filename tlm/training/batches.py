"""Resumable streams of training batches: the batch at each step is a pure function of it.

`lm_batches` shuffles windows (the order a pure function of `(seed, step)`);
`contiguous_batches` lays the stream out in rows that continue each other, for stateful models.

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

from tlm.checks import check_fits_one_batch, check_positive_int


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


def count_contiguous_batches(num_ids, sequence_length, batch_size):
    """Batches in one pass of `contiguous_batches` over `num_ids` tokens.

    Example:

    >>> count_contiguous_batches(24, 2, 3)  # 3 rows of 8: windows at 0, 2, 4 (6 needs a 9th)
    3
    """
    rows = num_ids // batch_size
    return max((rows - 1) // sequence_length, 0)


def contiguous_batches(
    ids, sequence_length, batch_size, *, repeat=True, steps_per_pass=None, start_step=0
):
    """Truncated backpropagation through time as a data layout: rows that continue each other.

    The stream is cut into `batch_size` contiguous rows of `len(ids) // batch_size` tokens
    (the tail that does not fill a row is dropped), and batch `k` is the `k`-th window of
    `sequence_length` tokens of every row: `x[i] = row_i[k*T : (k+1)*T]` and `y[i]` the same
    window one token later. So row `i` of batch `k + 1` continues row `i` of batch `k`, and a
    stateful model (`LSTMLanguageModel(stateful=True)`) that carries its final state from one
    batch into the next reads each row as one long text, while its gradient stops at the window
    edge. This is the layout of Zaremba et al. (2014) and TensorFlow's `ptb_word_lm`: every
    token but the first of each row is a target once per pass.

    Args:
        ids: 1-D int array of token ids (a whole split, e.g. `LMData.train_ids`).
        sequence_length: int, tokens per window (the unroll length).
        batch_size: int, rows (the stateful model's fixed batch size).
        repeat: True: an endless stream of passes (training); False: one pass (evaluation).
        steps_per_pass: int or None, batches per pass when shorter than a full pass (an epoch
            of `TrainConfig.steps_per_epoch` steps starts over at the rows' beginning).
        start_step: int, index of the first batch in the endless stream (the optimizer step to
            resume at): batch `g` is window `g % steps_per_pass` of the rows.

    Returns:
        A `tf.data.Dataset` of `(x, y)`, int32, each `(batch_size, sequence_length)`.

    Example:

    >>> stream = contiguous_batches(np.arange(24), 2, 3, repeat=False)
    >>> [x.numpy().tolist() for x, _ in stream]
    [[[0, 1], [8, 9], [16, 17]], [[2, 3], [10, 11], [18, 19]], [[4, 5], [12, 13], [20, 21]]]
    >>> x, y = next(iter(contiguous_batches(np.arange(24), 2, 3, start_step=4)))
    >>> x.numpy().tolist(), y.numpy().tolist()
    ([[2, 3], [10, 11], [18, 19]], [[3, 4], [11, 12], [19, 20]])
    """
    check_positive_int("sequence_length", sequence_length)
    check_positive_int("batch_size", batch_size)
    batches_per_pass = count_contiguous_batches(len(ids), sequence_length, batch_size)
    if batches_per_pass < 1:
        raise ValueError(
            f"`ids` must fill `batch_size` rows of at least sequence_length + 1 tokens. "
            f"Received: {len(ids)} ids, batch_size={batch_size}, "
            f"sequence_length={sequence_length}"
        )
    if steps_per_pass is None:
        steps_per_pass = batches_per_pass
    elif not 1 <= steps_per_pass <= batches_per_pass:
        raise ValueError(
            f"`steps_per_pass` must be between 1 and the {batches_per_pass} batches of a full "
            f"pass. Received: steps_per_pass={steps_per_pass}"
        )
    rows = len(ids) // batch_size
    table = tf.constant(np.asarray(ids[: rows * batch_size], dtype="int32").reshape(batch_size, -1))

    def window(step):
        start = (step % steps_per_pass) * sequence_length
        windows = table[:, start : start + sequence_length + 1]
        return windows[:, :-1], windows[:, 1:]  # (batch_size, sequence_length) each

    steps = (
        tf.data.Dataset.range(int(start_step), np.iinfo(np.int64).max)
        if repeat
        else tf.data.Dataset.range(steps_per_pass)
    )
    return steps.map(window).prefetch(tf.data.AUTOTUNE)
