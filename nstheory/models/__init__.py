"""Real pretrained transformers: loading local Hugging Face models, explicit output
functionals, per-position influence on real text, whole-sequence noise, junta sizes and the
Table 1 bounds, with resumable runs.

* :mod:`~nstheory.models.loading`: ``--model minilm`` (packaged) or a local directory; tiny
  in-memory BERT/GPT-2; the random-initialisation arm;
* :mod:`~nstheory.models.functionals`: ``cls``, ``mean``, ``pos:K``, ``layer:L``, ``logprobs``;
* :mod:`~nstheory.models.texts`: n-token windows of a real corpus;
* :mod:`~nstheory.models.influence`: token-resampling, Gaussian and gradient influences, the
  finite-difference cross-check;
* :mod:`~nstheory.models.stability`: whole-sequence token and Gaussian noise;
* :mod:`~nstheory.models.run` / :mod:`~nstheory.models.summary`: resumable runs and their
  analysis; :mod:`~nstheory.models.table1`: the paper's rows and ours.

torch and transformers are imported inside functions only.

>>> sorted(__all__)[:3]
['Functional', 'LoadedModel', 'PAPER_ROWS']
"""

from nstheory.models.functionals import (
                                         Functional,
                                         default_functionals,
                                         evaluate,
                                         parse_functional,
                                         parse_functionals,
)
from nstheory.models.influence import (
                                         directional_pair,
                                         gaussian_influence,
                                         jacobian_sq,
                                         token_influence,
)
from nstheory.models.loading import (
                                         LoadedModel,
                                         load_model,
                                         models_available,
                                         random_init_like,
                                         resolve_model_path,
                                         tiny_model,
                                         wrap,
)
from nstheory.models.run import RunConfig, execute, export_run
from nstheory.models.stability import noise_distance
from nstheory.models.summary import friedgut_size, junta_interval, shares_to_junta, summarise
from nstheory.models.table1 import PAPER_ROWS, format_table, rows_for
from nstheory.models.texts import text_windows

__all__ = [
    "PAPER_ROWS", "Functional", "LoadedModel", "RunConfig", "default_functionals",
    "directional_pair", "evaluate", "execute", "export_run", "format_table", "friedgut_size",
    "gaussian_influence", "jacobian_sq", "junta_interval", "load_model", "models_available",
    "noise_distance", "parse_functional", "parse_functionals", "random_init_like",
    "resolve_model_path", "rows_for", "shares_to_junta", "summarise", "text_windows",
    "tiny_model", "token_influence", "wrap",
]
