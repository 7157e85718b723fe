"""Export a trained run as a TensorFlow SavedModel: text in, text out, no tlm needed to load it.

`export(run_dir, out_dir)` writes a SavedModel whose signatures take strings and return strings
or numbers, with tokenization, the cached decoding loop, sampling and detokenization all inside
the graph, as TensorFlow's own text-generation tutorial ends (its "one step" model), so the model
can leave Python: TF Serving, `saved_model_cli`, another program with TensorFlow bindings, or
a Python process that has TensorFlow and tensorflow-text but neither tlm nor keras_hub:

    import tensorflow as tf
    import tensorflow_text  # registers the tokenizer ops the graph uses

    exported = tf.saved_model.load("exported/shakespeare-char")
    exported.signatures["generate"](
        prompt=tf.constant(["ROMEO:"]), max_new_tokens=tf.constant(100),
        temperature=tf.constant(1.0), top_k=tf.constant(1), top_p=tf.constant(1.0),
        seed=tf.constant(0),
    )["text"]

Signatures (batch dimensions are free; every argument is required, as TF Serving expects):

- `generate(prompt: string[batch], max_new_tokens: int32, temperature: float32, top_k: int32,
  top_p: float32, seed: int32) -> {"text": string[batch]}`: the new text after each prompt.
  `top_k=1` is greedy decoding (the text of `tlm generate --strategy greedy`); `top_k=0` keeps
  every token and `top_k>1` the k most likely; `top_p<1` then samples from the smallest set of
  tokens whose probability reaches it. The same seed gives the same text; the random stream is
  the export's own (one stateless draw per position), so sampled text differs from `tlm
  generate`'s with the same seed.
- `score(text: string[batch]) -> {"perplexity": float32[batch], "bits_per_character":
  float32[batch]}`: each text scored as `tlm.evaluation.evaluate` scores a corpus (windows of
  the model's context, one after the other; the LSTM reads the whole text); a text needs at
  least two tokens.
- `next_token_logits(token_ids: int32[batch, time]) -> {"logits": float32[batch, vocabulary]}`:
  the logits of the token after each row (the Transformer reads the last `context_length` ids).

The loaded object also carries `vocabulary_size` and `context_length` (-1 for the LSTM, which
has no context limit) as scalar tensors.

The decoding loop is tlm's own (`tlm.generation.decoder.Decoder`), compiled with XLA when the
SavedModel runs, for each shape class it meets (rows, and prompt + new tokens rounded up to a
power of two), as `tlm generate` does in process. `format="litert"` also writes a `.tflite`
next-token model where a LiteRT converter is installed.

Taught in notebooks/05_text_generation.ipynb; see docs/guides/serving.md.
"""

import contextlib
import logging
import math
import os
import tempfile

import tensorflow as tf

from tlm.checks import check_choice
from tlm.files import atomic_directory
from tlm.generation.decoder import Decoder
from tlm.generation.generate import DECODE_CONTEXT

FORMATS = ("saved_model", "litert")
SIGNATURES = ("generate", "score", "next_token_logits")
# The LiteRT model's file name inside the output folder, beside the SavedModel.
LITERT_FILE = "next_token_logits.tflite"


def choose_token(probabilities, top_k, top_p, seed, index):
    """One token per row from `probabilities` `(batch, vocabulary)`, with tensor settings.

    `top_k == 1` is greedy (argmax); otherwise the tokens are sorted by probability, cut to the
    `top_k` most likely (`0`: no cut), then to the smallest set whose probability reaches
    `top_p` (as `keras_hub.samplers.TopPSampler`: a token is kept while the probability before
    it is at most `top_p`), and one is drawn with a stateless random op seeded by
    `(seed, index)`: the same seed gives the same draw at every position, whatever ran before.

    Example:

    >>> p = tf.constant([[0.1, 0.6, 0.3]])
    >>> int(choose_token(p, tf.constant(1), tf.constant(1.0), tf.constant(0), tf.constant(5))[0])
    1
    >>> int(choose_token(p, tf.constant(0), tf.constant(0.5), tf.constant(7), tf.constant(5))[0])
    1
    """
    vocabulary_size = tf.shape(probabilities)[-1]
    greedy = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
    sorted_probabilities, sorted_ids = tf.math.top_k(probabilities, k=vocabulary_size)
    rank = tf.range(vocabulary_size)[tf.newaxis, :]
    k = tf.where(top_k > 0, top_k, vocabulary_size)
    before = tf.cumsum(sorted_probabilities, axis=-1, exclusive=True)
    keep = (rank < k) & ((before <= top_p) | (rank == 0))
    logits = tf.where(keep, tf.math.log(sorted_probabilities), tf.constant(-1e9))
    seeds = tf.stack([tf.cast(seed, tf.int32), tf.cast(index, tf.int32)])
    choice = tf.random.stateless_categorical(logits, 1, seed=seeds, dtype=tf.int32)
    sampled = tf.gather(sorted_ids, choice, batch_dims=1)[:, 0]
    return tf.where(top_k == 1, greedy, sampled)


class _ExportDecoder(Decoder):
    """tlm's decoding loop whose token choice reads the signature's sampling tensors."""

    def __init__(self, model):
        super().__init__(model, strategy="greedy")
        self._kept_model = model  # the base class holds a weak reference only
        self.sampling = None

    def _choose(self, probabilities, index):
        top_k, top_p, seed = self.sampling
        return choose_token(probabilities, top_k, top_p, seed, index)

    def run_steps(self, tokens, cache, index, num_steps, done, constants, sampling):
        """`num_steps` steps of the loop from `index`, sampling with `(top_k, top_p, seed)`;
        returns the token buffer."""
        self.sampling = sampling
        seen = tf.zeros([tf.shape(tokens)[0], self.model.vocabulary_size])  # no penalty
        offset = tf.constant(0)
        capacity = self.context_length
        args = (tokens, cache, index, offset, num_steps, seen, done, constants, capacity)
        return self._steps_fn(*args)[0]


def _bucket(length, minimum=64):
    """`tlm.generation.decoder.shape_class`'s buffer length, as TF ops (`length` a tensor)."""
    powers = tf.bitwise.left_shift(1, tf.range(minimum.bit_length() - 1, 31))
    return tf.reduce_min(tf.where(powers >= length, powers, powers[-1]))


class ExportedLanguageModel(tf.Module):
    """The `tf.Module` that `export` saves: a tlm model and tokenizer behind three signatures.

    Args:
        model: a tlm language model (any kind with `context_length`, `init_cache` and
            `call_with_cache`).
        tokenizer: its `tlm.data.Tokenizer`.
    """

    def __init__(self, model, tokenizer):
        super().__init__(name="tlm_language_model")
        self._model = model
        self._tokenizer = tokenizer
        self._decoder = _ExportDecoder(model)
        # What the SavedModel must hold: the weights and the tokenizer's TF resources.
        # The tf.Variables under Keras's variables: a loader that restores by variable (TF
        # Serving, `saved_model_cli run`) finds them under the names the signatures read.
        self.model_variables = [variable.value for variable in model.variables]
        self.tokenizer_resources = tokenizer.tf_resources()
        self.vocabulary_size = tf.constant(model.vocabulary_size)
        context = model.context_length
        self.context_length = tf.constant(-1 if context is None else context)
        self._steps = tf.function(self._decoder.run_steps, jit_compile=True, autograph=False)
        self.generate = tf.function(
            self._generate,
            input_signature=[
                tf.TensorSpec([None], tf.string, name="prompt"),
                tf.TensorSpec([], tf.int32, name="max_new_tokens"),
                tf.TensorSpec([], tf.float32, name="temperature"),
                tf.TensorSpec([], tf.int32, name="top_k"),
                tf.TensorSpec([], tf.float32, name="top_p"),
                tf.TensorSpec([], tf.int32, name="seed"),
            ],
            autograph=False,
        )
        self.score = tf.function(
            self._score,
            input_signature=[tf.TensorSpec([None], tf.string, name="text")],
            autograph=False,
        )
        self.next_token_logits = tf.function(
            self._next_token_logits,
            input_signature=[tf.TensorSpec([None, None], tf.int32, name="token_ids")],
            autograph=False,
        )

    @property
    def model(self):
        return self._model

    @property
    def tokenizer(self):
        return self._tokenizer

    def signatures(self):
        return {
            "generate": self.generate.get_concrete_function(),
            "score": self.score.get_concrete_function(),
            "next_token_logits": self.next_token_logits.get_concrete_function(),
        }

    # -- generate ----------------------------------------------------------------------------
    def _generate(self, prompt, max_new_tokens, temperature, top_k, top_p, seed):
        model, tokenizer = self._model, self._tokenizer
        checks = [
            tf.debugging.assert_positive(
                tf.size(prompt), message="`prompt` must hold at least one string"
            ),
            tf.debugging.assert_non_negative(
                max_new_tokens, message="`max_new_tokens` must be at least 0"
            ),
            tf.debugging.assert_positive(temperature, message="`temperature` must be > 0"),
            tf.debugging.assert_non_negative(top_k, message="`top_k` must be at least 0"),
            tf.debugging.assert_positive(top_p, message="`top_p` must be in (0, 1]"),
            tf.debugging.assert_less_equal(top_p, 1.0, message="`top_p` must be in (0, 1]"),
        ]
        with tf.control_dependencies(checks):  # nothing runs on a refused value
            prompt, max_new_tokens, temperature, top_k, top_p = (
                tf.identity(value) for value in (prompt, max_new_tokens, temperature, top_k, top_p)
            )
        prompt_ids = tf.cast(tokenizer.tf_encode(prompt), tf.int32)  # (batch, None)
        context = model.context_length
        ids = prompt_ids[:, -context:] if context else prompt_ids
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        batch_size = tf.shape(lengths)[0]
        with tf.control_dependencies(
            [
                tf.debugging.assert_positive(
                    lengths, message="every `prompt` must encode to at least one token"
                )
            ]
        ):
            shortest = tf.reduce_min(lengths)
        end = tf.reduce_max(lengths) + max_new_tokens
        buffer_length = _bucket(end) + (context or 0)
        tokens = ids.to_tensor(0, shape=tf.stack([batch_size, buffer_length]))
        vocabulary_size = model.vocabulary_size
        constants = (
            lengths,
            lengths + max_new_tokens,
            temperature,
            tf.constant(1.0),  # no repetition penalty
            tf.zeros([vocabulary_size], tf.bool),  # no stop token
            tf.cast(tf.one_hot(tokenizer.pad_id, vocabulary_size), tf.bool),  # pad is not text
        )
        cache = model.init_cache(batch_size, context)
        # Every prompt token but the shortest prompt's last goes in before the loop.
        cache = tf.cond(
            shortest > 1,
            lambda: model.call_with_cache(tokens[:, : shortest - 1], cache, 0)[1],
            lambda: cache,
        )
        tokens = self._steps(
            tokens,
            cache,
            shortest,
            end - shortest,
            tf.zeros([batch_size], tf.bool),
            constants,
            (top_k, top_p, seed),
        )
        positions = lengths[:, tf.newaxis] + tf.range(max_new_tokens)[tf.newaxis, :]
        new_ids = tf.RaggedTensor.from_tensor(tf.gather(tokens, positions, batch_dims=1))
        # As `generate`: decode with some prompt context, then drop the context's own text, so
        # the spacing between the prompt and the new text comes out right.
        context_ids = prompt_ids[:, -DECODE_CONTEXT:]
        full = tokenizer.tf_decode(tf.concat([context_ids, new_ids], axis=1))
        context_text = tokenizer.tf_decode(context_ids)
        size = tf.strings.length(context_text)
        head = tf.strings.substr(full, tf.zeros_like(size), size)
        tail = tf.strings.substr(full, size, tf.strings.length(full) - size)
        text = tf.where(tf.equal(head, context_text), tail, tokenizer.tf_decode(new_ids))
        return {"text": text}

    # -- score and next_token_logits ---------------------------------------------------------
    def _logits(self, token_ids):
        """Logits `(batch, time, vocabulary)` of the model from a fresh state, in float32."""
        model = self._model
        if model.context_length is None:  # the LSTM: from a zero state (never a carried one)
            cache = model.init_cache(tf.shape(token_ids)[0])
            logits, _ = model.call_with_cache(token_ids, cache, 0)
        else:
            logits = model(token_ids, training=False)
        return tf.cast(logits, tf.float32)

    def _score(self, text):
        tokenizer, context = self._tokenizer, self._model.context_length
        cleaned = tokenizer.cleaner.clean_tensor(text)  # to count its characters
        ids = tf.cast(tokenizer.tf_encode(text), tf.int32)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        with tf.control_dependencies(
            [
                tf.debugging.assert_greater_equal(
                    lengths, 2, message="every `text` must encode to at least two tokens"
                )
            ]
        ):
            batch_size = tf.shape(lengths)[0]
        targets = tf.reduce_max(lengths) - 1
        # Windows of `context` inputs, one after the other, as `tlm.data` cuts a corpus.
        window = targets if context is None else tf.constant(context)
        num_windows = (targets + window - 1) // window
        padded = ids.to_tensor(0, shape=tf.stack([batch_size, num_windows * window + 1]))
        x = tf.reshape(padded[:, :-1], [-1, window])
        y = tf.reshape(padded[:, 1:], [batch_size, -1])
        logits = tf.reshape(self._logits(x), [batch_size, num_windows * window, -1])
        nats = tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)
        scored = tf.range(num_windows * window)[tf.newaxis, :] < (lengths - 1)[:, tf.newaxis]
        nats = tf.reduce_sum(tf.where(scored, tf.cast(nats, tf.float64), 0.0), axis=-1)
        tokens = tf.cast(lengths - 1, tf.float64)
        characters = tf.cast(tf.strings.length(cleaned, unit="UTF8_CHAR"), tf.float64)
        loss = nats / tokens
        bits_per_character = loss / math.log(2.0) * tf.cast(lengths, tf.float64) / characters
        return {
            "perplexity": tf.cast(tf.exp(loss), tf.float32),
            "bits_per_character": tf.cast(bits_per_character, tf.float32),
        }

    def _next_token_logits(self, token_ids):
        context = self._model.context_length
        if context is not None:
            token_ids = token_ids[:, -context:]
        return {"logits": self._logits(token_ids)[:, -1, :]}


def export(run, out_dir, format="saved_model", overwrite=False):
    """Write run directory `run` (or a loaded `tlm.training.Run`) as a SavedModel in `out_dir`.

    The SavedModel (see the module docstring for its signatures) is written to a temporary
    folder beside `out_dir` and moved into place when complete, so a failure leaves nothing
    half-written. `format="litert"` also writes `next_token_logits.tflite` into the folder (a
    `(1, context_length)` next-token model of a Transformer or GPT-2; not for the LSTM), and
    refuses before any work when no LiteRT converter is installed.

    Args:
        run: a run directory, a `.keras` file inside one, a keras_hub GPT-2 preset, or a `Run`.
        out_dir: the folder to write; it must not exist or be empty, unless `overwrite`.
        format: "saved_model" or "litert".
        overwrite: replace an existing non-empty `out_dir`.

    Returns:
        `out_dir`.
    """
    out_dir = check_export_arguments(out_dir, format, overwrite)
    if isinstance(run, (str, os.PathLike)):
        from tlm.pretrained import load_run_or_preset

        run = load_run_or_preset(run)
    if format == "litert" and run.model.context_length is None:
        raise ValueError(
            "`format='litert'` exports models with a context (the Transformer, GPT-2): the "
            "LSTM's recurrent loop needs TensorFlow operations that LiteRT's built-in set "
            f"lacks. Received: format='litert' and a {type(run.model).__name__}"
        )
    module = ExportedLanguageModel(run.model, run.tokenizer)
    with atomic_directory(out_dir) as folder, _without_tensorflow_info():
        tf.saved_model.save(module, folder, signatures=module.signatures())
        if format == "litert":
            write_litert(module, os.path.join(folder, LITERT_FILE))
    return out_dir


@contextlib.contextmanager
def _without_tensorflow_info():
    """TensorFlow's INFO log off while saving: its "Assets written to: <folder>" names the
    temporary folder the export is then moved out of, which would only mislead."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def check_export_arguments(out_dir, format="saved_model", overwrite=False):
    """Refuse a bad `format` or an `out_dir` that holds files (unless `overwrite`), before any
    work; return `out_dir` as a str. `tlm export` calls this before it loads the run (the
    model kind is checked against the format once it is loaded, still before any writing).

    >>> check_export_arguments("exported/run", format="onnx")
    Traceback (most recent call last):
    ...
    ValueError: `format` must be one of 'saved_model', 'litert'. Received: format='onnx'
    """
    check_choice("format", format, FORMATS)
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise FileExistsError(
            f"`out_dir` must be a folder or not exist. Received: out_dir={out_dir!r}, a file"
        )
    if os.path.isdir(out_dir) and os.listdir(out_dir) and not overwrite:
        raise FileExistsError(
            "`out_dir` must not exist or be empty (pass overwrite=True, or --overwrite, to "
            f"replace it). Received: out_dir={out_dir!r}, which holds files"
        )
    if format == "litert":
        litert_converter()
    return out_dir


def litert_converter():
    """The LiteRT converter class (`tf.lite.TFLiteConverter`), or a clear error if none."""
    converter = getattr(getattr(tf, "lite", None), "TFLiteConverter", None)
    if converter is None:
        raise ValueError(
            "`format='litert'` needs a LiteRT converter (tf.lite.TFLiteConverter), and this "
            "TensorFlow has none. Received: format='litert'"
        )
    return converter


def write_litert(module, path):
    """Convert the next-token model, for one row of `context_length` ids, to a LiteRT file of
    LiteRT's built-in operations, through Keras's `ExportArchive` (the route of Keras's own
    LiteRT export: its SavedModel holds the weights as the converter expects them)."""
    import keras

    length = module.model.context_length
    with tempfile.TemporaryDirectory() as folder:
        archive = keras.export.ExportArchive()
        archive.track(module.model)
        archive.add_endpoint(
            "serve",
            lambda token_ids: module.next_token_logits(token_ids)["logits"],
            input_signature=[tf.TensorSpec([1, length], tf.int32, name="token_ids")],
        )
        archive.write_out(folder, verbose=False)
        # LiteRT's own operations only, so the file runs in any LiteRT interpreter.
        data = litert_converter().from_saved_model(folder).convert()
    with open(path, "wb") as file:
        file.write(data)
    return path
