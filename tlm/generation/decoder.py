"""The compiled decoding loop shared by the Transformer (key/value cache) and the LSTM (state).

`Decoder` turns prompt token ids into new token ids, a chunk of steps at a time, so text can be
streamed while each chunk still runs as one compiled `tf.while_loop` (keras_hub's loop is a single
compiled call and cannot stream). It relies only on the models' incremental-decoding interface:
`model.context_length`, `model.init_cache(batch_size, max_length)` and
`model.call_with_cache(token_ids, cache, index) -> (logits, cache)`.

How a batch of prompts of different lengths is decoded (as keras_hub does): the prompts sit
left-aligned in one `(batch_size, buffer_length)` token buffer, each at its true positions 0, 1,
...; the loop walks one position at a time from the shortest prompt's end, and a row still inside
its own prompt copies its prompt token instead of sampling. So every row sees exactly its own
tokens at their own positions (no padding ever enters the cache), and the cached loop gives the
tokens of full re-computation. Prompt tokens before the shortest prompt's end are fed before the
loop in one call (blocks of at most `prefill_length`), through a function traced once for any
prompt length.

Past the Transformer's context (`context_length` positions), the window slides: when the cache is
full, the newest `context_length // 2` tokens are fed again from position 0 into an empty cache,
and decoding goes on, all inside the compiled loop. Text beyond the context is thus conditioned
on between half the context and the whole of it. Prompts longer than the context keep their
last `context_length` tokens. The LSTM has no context limit: its state carries everything.

Taught in notebooks/05_text_generation.ipynb.
"""

import collections
import functools
import warnings
import weakref

import numpy as np
import tensorflow as tf
from keras import ops

from tlm.generation.samplers import (
    apply_repetition_penalty,
    apply_temperature,
    make_sampler,
    reset_seed,
)


def _bucket(length, minimum=64):
    """The next power of two >= `length` (at least `minimum`): few shapes, so few traces."""
    return max(minimum, 1 << max(0, int(length) - 1).bit_length())


# More shape classes than this for one decoder: each cost a compile, and the user hears of it.
MANY_SHAPE_CLASSES = 4


def shape_class(batch_size, end):
    """The compiled shape `(batch rows, buffer length)` that decodes `batch_size` prompts to `end`.

    Calls in the same class reuse one compiled loop: the batch is padded to a power of two rows,
    the token buffer to a power of two positions (at least 64), whatever the prompt lengths and
    the number of new tokens. Short texts all share the smallest buffer, 64 positions: the
    Transformer's cache is no longer than its context anyway, and the loop only runs the steps
    asked for.

    >>> shape_class(1, 30), shape_class(3, 30), shape_class(4, 65)
    ((1, 64), (4, 64), (4, 128))
    """
    return _bucket(batch_size, minimum=1), _bucket(end)


class Decoder:
    """Compiled incremental decoding of one model with one sampling strategy.

    Build one with `get_decoder` (it is reused across calls, so nothing is traced twice for the
    same shapes), then iterate `decode(...)`.

    Args:
        model: a tlm language model with the incremental-decoding interface.
        strategy: `"greedy"`, `"top_k"` or `"top_p"` (see `tlm.generation.samplers`).
        top_k: top-k cutoff.
        top_p: nucleus probability.
        use_cache: `True` decodes with the cache / carried state (one position per step);
            `False` re-computes the whole window at every step (for checks and benchmarks).
        jit_compile: compile the loop with XLA.
        prefill_length: the most prompt tokens fed in one call before the loop.

    Example:

    >>> from tlm.models import TransformerLanguageModel
    >>> model = TransformerLanguageModel(vocabulary_size=10, sequence_length=16, num_layers=1,
    ...                                  num_heads=2, hidden_dim=8, intermediate_dim=16)
    >>> decoder = Decoder(model)
    >>> for new_ids in decoder.decode([[3, 4, 5], [6]], max_new_tokens=4):
    ...     pass
    >>> [len(ids) for ids in new_ids]
    [4, 4]
    """

    def __init__(
        self,
        model,
        strategy="greedy",
        top_k=None,
        top_p=None,
        use_cache=True,
        jit_compile=True,
        prefill_length=256,
    ):
        self._model = weakref.ref(model)  # the decoders cache must not keep models alive
        self.strategy = strategy
        self.sampler = make_sampler(strategy, top_k=top_k, top_p=top_p)
        self.use_cache = use_cache
        self.jit_compile = jit_compile
        self.prefill_length = prefill_length
        self.context_length = model.context_length
        if self.context_length is not None and self.context_length < 2:
            raise ValueError(
                "`model.context_length` must be at least 2 to generate. "
                f"Received: context_length={self.context_length}"
            )
        if not model.built:
            # Build the weights eagerly: building inside the compiled loop is not allowed.
            model(np.zeros((1, 1), dtype="int32"))
        # How many times each compiled function was traced: tests check repeated calls add none.
        self.tracing_counts = collections.Counter()
        # The shape classes `(rows, buffer length)` this decoder has compiled its loop for.
        self.shape_classes = set()
        # TensorFlow counts re-traces per Python code object, so the loops of every decoder (one
        # per model and strategy) would share one count, and a program that samples many models
        # would look like one function re-tracing. A partial is its own object: each decoder's
        # loop is counted on its own, and a re-trace warning still means this loop re-traced.
        # The prefill runs once per block of prompt: XLA would only add compile time.
        self._prefill = tf.function(functools.partial(Decoder._prefill_fn, self), autograph=False)
        self._steps = tf.function(
            functools.partial(Decoder._steps_fn, self), jit_compile=jit_compile, autograph=False
        )

    @property
    def model(self):
        return self._model()

    def _note_shape_class(self, shape):
        if shape in self.shape_classes:
            return
        self.shape_classes.add(shape)
        if len(self.shape_classes) == MANY_SHAPE_CLASSES + 1:
            shapes = ", ".join(f"{rows}x{length}" for rows, length in sorted(self.shape_classes))
            warnings.warn(
                f"Generation with this model and strategy ({self.strategy!r}) has now compiled "
                f"its decoding loop for {len(self.shape_classes)} shapes (batch rows x buffer "
                f"length: {shapes}), and each new shape costs a compile. Calls whose prompt "
                "count and prompt + new tokens stay within the same powers of two share one.",
                RuntimeWarning,
                stacklevel=4,
            )

    # Compiled pieces ------------------------------------------------------------------------

    def _prefill_function(self, batch_size, cache):
        """The prefill traced once per shape class for blocks of any length (time is `None`)."""
        return self._prefill.get_concrete_function(
            tf.TensorSpec([batch_size, None], tf.int32),
            tf.nest.map_structure(tf.TensorSpec.from_tensor, cache),
            tf.TensorSpec([], tf.int32),
        )

    def _prefill_fn(self, token_ids, cache, index):
        self.tracing_counts["prefill"] += 1
        _, cache = self.model.call_with_cache(token_ids, cache, index)
        return cache

    def _slide(self, tokens, cache, index, offset, capacity):
        """When the window is full, keep its newest half: `(cache, offset)` for feeding `index-1`.

        Runs inside the compiled loop (a `tf.cond`), so a slide costs one prefill of
        `capacity // 2` tokens and no trip back to Python.
        """
        keep = capacity // 2
        full = index - 1 - offset >= capacity

        def refill():
            start = index - 1 - keep
            # The batch size is static here, but a tensor in an exported graph (`tlm.export`).
            batch_size = tokens.shape[0] if tokens.shape[0] is not None else tf.shape(tokens)[0]
            cache = self.model.init_cache(batch_size, capacity)
            window = tf.slice(tokens, [0, start], [-1, keep])  # (batch_size, keep)
            _, cache = self.model.call_with_cache(window, cache, 0)
            return cache, start

        if not self.use_cache:
            return cache, tf.where(full, index - 1 - keep, offset)
        return tf.cond(full, refill, lambda: (cache, offset))

    def _next_logits(self, tokens, cache, index, offset):
        """Logits `(batch_size, vocabulary_size)` for position `index` (the token to choose)."""
        if self.use_cache:
            token = tokens[:, index - 1][:, None]  # (batch_size, 1)
            logits, cache = self.model.call_with_cache(token, cache, index - 1 - offset)
            return logits[:, -1, :], cache
        # Full re-computation of the window, nanoGPT style, one whole forward pass per token.
        if self.context_length is None:
            window = tokens  # the LSTM reads everything from the start
        else:
            # The placeholder "cache" (0, capacity) carries the window size as a static shape.
            window = tf.slice(tokens, [0, offset], [-1, cache.shape[1]])
        logits = self.model(window, training=False)  # (batch_size, window, vocabulary_size)
        return ops.take(logits, index - 1 - offset, axis=1), cache

    def _choose(self, probabilities, index):
        """The sampled token `(batch_size,)` int32 for position `index` (the exported model's
        decoder, in `tlm.export`, chooses with sampling settings that are tensors)."""
        return ops.cast(self.sampler.get_next_token(probabilities), "int32")

    def _steps_fn(self, tokens, cache, index, offset, num_steps, seen, done, constants, capacity):
        self.tracing_counts["steps"] += 1
        prompt_lengths, limits, temperature, penalty, stop_mask, banned = constants

        def cond(step, tokens, cache, index, offset, seen, done):
            return tf.logical_and(step < num_steps, tf.logical_not(tf.reduce_all(done)))

        def body(step, tokens, cache, index, offset, seen, done):
            if capacity is not None:
                cache, offset = self._slide(tokens, cache, index, offset, capacity)
            logits, cache = self._next_logits(tokens, cache, index, offset)
            logits = apply_repetition_penalty(ops.cast(logits, "float32"), seen, penalty)
            logits = tf.where(banned, tf.constant(-1e9, logits.dtype), logits)
            probabilities = ops.softmax(apply_temperature(logits, temperature), axis=-1)
            sampled = self._choose(probabilities, index)
            # A row still inside its prompt copies its prompt token instead of sampling.
            in_prompt = index < prompt_lengths  # (batch_size,)
            next_token = tf.where(in_prompt, tokens[:, index], sampled)
            tokens = ops.slice_update(tokens, [0, index], next_token[:, None])
            seen = tf.maximum(seen, tf.one_hot(next_token, tf.shape(seen)[1], dtype=seen.dtype))
            stopped = tf.logical_and(tf.logical_not(in_prompt), tf.gather(stop_mask, next_token))
            done = done | stopped | (index + 1 >= limits)
            return step + 1, tokens, cache, index + 1, offset, seen, done

        _, tokens, cache, index, offset, seen, done = tf.while_loop(
            cond, body, (tf.constant(0), tokens, cache, index, offset, seen, done)
        )
        return tokens, cache, index, offset, seen, done

    # The Python driver ----------------------------------------------------------------------

    def decode(
        self,
        token_ids,
        max_new_tokens,
        seed=0,
        temperature=1.0,
        repetition_penalty=None,
        stop_token_ids=(),
        banned_token_ids=(),
        chunk_size=None,
    ):
        """Decode new tokens after each prompt, yielding after every compiled chunk.

        Args:
            token_ids: a list of 1-D int sequences (the prompts), each non-empty.
            max_new_tokens: new tokens per prompt.
            seed: int seed of the sampler (same seed, same batch -> same tokens).
            temperature: float > 0.
            repetition_penalty: float > 0 or `None` (1, no penalty).
            stop_token_ids: ids that end a row once generated; the loop ends when all rows end.
            banned_token_ids: ids never generated (`generate` bans the padding id).
            chunk_size: steps per compiled call; `None` runs as few calls as possible.

        Yields:
            After each chunk, a list (one per prompt) of int32 arrays: the new token ids so far
            (at most `max_new_tokens`). A row that generated a stop id goes on until every row
            has ended; the caller cuts it at the stop.
        """
        model = self.model
        context = self.context_length
        # Too long for the Transformer's context: keep the most recent tokens.
        rows = [np.asarray(ids, dtype="int32")[-context:] if context else ids for ids in token_ids]
        num_prompts = len(rows)
        end = max(len(ids) for ids in rows) + max_new_tokens
        batch_size, buffer_length = shape_class(num_prompts, end)
        self._note_shape_class((batch_size, buffer_length))
        # Padding rows repeat the first prompt and are done from the start: they keep the compiled
        # shape, never end the loop, and are not returned.
        rows = rows + [rows[0]] * (batch_size - num_prompts)
        lengths = np.array([len(ids) for ids in rows], dtype="int32")
        capacity = min(buffer_length, context) if context else None
        # Full re-computation slices a whole window from `offset`: leave room after the end.
        tokens = np.zeros((batch_size, buffer_length + (capacity or 0)), dtype="int32")
        vocabulary_size = model.vocabulary_size
        seen = np.zeros((batch_size, vocabulary_size), dtype="float32")
        for row, ids in enumerate(rows):
            tokens[row, : len(ids)] = ids
            seen[row, ids] = 1.0
        stop_mask = np.zeros((vocabulary_size,), dtype=bool)
        stop_mask[list(stop_token_ids)] = True
        banned = np.zeros((vocabulary_size,), dtype=bool)
        banned[list(banned_token_ids)] = True
        constants = (
            tf.constant(lengths),
            tf.constant(lengths + max_new_tokens),
            tf.constant(temperature, tf.float32),
            tf.constant(1.0 if repetition_penalty is None else repetition_penalty, tf.float32),
            tf.constant(stop_mask),
            tf.constant(banned),
        )
        reset_seed(self.sampler, seed)
        tokens, seen = tf.constant(tokens), tf.constant(seen)
        done = tf.constant(np.arange(batch_size) >= num_prompts)

        # Feed whole prompt blocks first; the loop starts on the token before the shortest end.
        shortest = int(lengths.min())
        if self.use_cache:
            cache = model.init_cache(batch_size, capacity)
            # Every prompt token but the shortest prompt's last goes in by prefill, in blocks of
            # at most `prefill_length` through one function traced for any block length, so
            # the loop's first step already samples (and a model with a carried state, the
            # LSTM, never reads a token past its prompt).
            prefill = self._prefill_function(batch_size, cache)
            fed = 0
            while fed < shortest - 1:
                block = min(self.prefill_length, shortest - 1 - fed)
                cache = prefill(tokens[:, fed : fed + block], cache, tf.constant(fed))
                fed += block
            index = fed + 1
        else:
            cache, index = tf.zeros((0, capacity or 0)), shortest
        offset = tf.constant(0)
        while index < end:
            num_steps = end - index if chunk_size is None else min(end - index, chunk_size)
            tokens, cache, new_index, offset, seen, done = self._steps(
                tokens,
                cache,
                tf.constant(index),
                offset,
                tf.constant(num_steps),
                seen,
                done,
                constants,
                capacity,
            )
            index = int(new_index)
            if index <= shortest:
                continue  # still copying prompts: nothing new to show
            values = tokens.numpy()
            yield [
                values[row, length : min(index, length + max_new_tokens)]
                for row, length in enumerate(lengths[:num_prompts])
            ]
            if bool(tf.reduce_all(done)):
                return


_DECODERS = weakref.WeakKeyDictionary()


def get_decoder(model, strategy="greedy", top_k=None, top_p=None, use_cache=True, jit_compile=True):
    """The `Decoder` for these settings, built once per model and reused (no retracing).

    Example:

    >>> from tlm.models import TransformerLanguageModel
    >>> model = TransformerLanguageModel(vocabulary_size=10, sequence_length=16, num_layers=1,
    ...                                  num_heads=2, hidden_dim=8, intermediate_dim=16)
    >>> get_decoder(model) is get_decoder(model)
    True
    """
    decoders = _DECODERS.setdefault(model, {})
    key = (strategy, top_k, top_p, use_cache, jit_compile)
    if key not in decoders:
        decoders[key] = Decoder(model, strategy, top_k, top_p, use_cache, jit_compile)
    return decoders[key]
