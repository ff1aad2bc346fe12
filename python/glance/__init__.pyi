"""Type stubs of the glance module (the Rust extension glance._glance)."""

import os
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

#: A sequence (str of bases, or bytes) or a FASTA/FASTQ path. A str of letters only
#: that names no existing file is a sequence (record name "seq").
SeqOrPath = Union[str, bytes, "os.PathLike[str]"]
#: A pandas DataFrame when pandas is installed, else a dict of numpy arrays.
Table = Any

class Records(Iterator[Tuple[str, str]]):
    """(name, sequence) pairs of a FASTA/FASTQ file (see ``read``)."""

    def __iter__(self) -> "Records": ...
    def __next__(self) -> Tuple[str, str]: ...

def read(path: Union[str, "os.PathLike[str]"], region: Optional[str] = None) -> Records:
    """Records of a FASTA/FASTQ file, or one region ("chr:start-end", 1-based
    inclusive) of an indexed FASTA."""

def tokenize(
    seq_or_path: SeqOrPath,
    k: Optional[int] = None,
    stride: int = 1,
    vocab: Optional[Union[str, "os.PathLike[str]"]] = None,
) -> npt.NDArray[np.int32]:
    """k-mer token ids (k defaults to 6, or the vocab's k) of a sequence or of every
    record of a file, one after the other."""

class Motifs:
    """A motif set: a motif file or the bundled JASPAR set."""

    @staticmethod
    def load(path: Optional[Union[str, "os.PathLike[str]"]] = None) -> "Motifs": ...
    @property
    def ids(self) -> List[str]: ...
    @property
    def alt_ids(self) -> List[str]: ...
    def __len__(self) -> int: ...
    def scan(
        self,
        seq_or_path: SeqOrPath,
        thresh: float = 1e-4,
        background: str = "--nrdb--",
        norc: bool = False,
        threads: Optional[int] = None,
    ) -> Table:
        """FIMO-identical hits (FIMO's columns) with q-values."""
    def score(
        self,
        seq_or_path: SeqOrPath,
        bin: int = 1000,
        step: Optional[int] = None,
        thresh: float = 1e-4,
        background: str = "--nrdb--",
        norc: bool = False,
        tau: Optional[float] = None,
        mu_pvalue: Optional[float] = None,
        threads: Optional[int] = None,
    ) -> Tuple[Table, npt.NDArray[np.float32]]:
        """(regions, scores [regions, motifs, 2]: affinity, occupancy); tau defaults to
        4 bits, mu_pvalue to 5e-4."""

class Model:
    """An encoder: a native glance model or a Hugging Face checkpoint."""

    @staticmethod
    def load(
        dir: Optional[Union[str, "os.PathLike[str]"]] = None, precision: str = "f32"
    ) -> "Model": ...
    @property
    def precision(self) -> str:
        """`f32` or `bf16`: what the encoder runs in (bf16 needs AVX512_BF16)."""
    @property
    def dir(self) -> Optional["os.PathLike[str]"]:
        """The model directory; None for the default model compiled into glance."""
    @property
    def name(self) -> str:
        """The directory, or `bundled:models/default`."""
    @property
    def d_model(self) -> int: ...
    @property
    def has_mlm_head(self) -> bool: ...
    def embed(
        self,
        seq_or_path: SeqOrPath,
        bin: int = 1000,
        step: Optional[int] = None,
        pool: str = "mean",
        threads: Optional[int] = None,
    ) -> Tuple[Table, npt.NDArray[np.float32]]:
        """(regions, embeddings [regions, d_model]) as glance embed writes them."""
    def hidden_states(
        self, seq_or_path: SeqOrPath, max_tokens: int = 1_000_000, threads: Optional[int] = None
    ) -> npt.NDArray[np.float32]:
        """Last hidden state of every token, [tokens, d_model]."""
    def log_probs(
        self, seq_or_path: SeqOrPath, max_tokens: int = 1_000_000, threads: Optional[int] = None
    ) -> npt.NDArray[np.float32]:
        """MLM-head log-probabilities of every vocabulary id, [tokens, vocab]."""

def run(config: Union[Dict[str, Any], str, "os.PathLike[str]"]) -> Dict[str, Any]:
    """The whole glance run pipeline; returns manifest.json as a dict."""
