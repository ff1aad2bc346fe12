"""glance from Python: FASTA/FASTQ readers, k-mer tokens, FIMO-exact motif scanning,
region motif scores and local-attention genome encoders, with numpy arrays out.

The work is done by glance's Rust library (the ``glance._glance`` extension), with the
GIL released; see docs/python.md in the glance repository for a walkthrough.
"""

from glance._glance import Model, Motifs, Records, __version__, read, run, tokenize

__all__ = ["Model", "Motifs", "Records", "__version__", "read", "run", "tokenize"]
