//! Sequence input for glance: FASTA/FASTQ readers (plain, gzip, BGZF, stdin), indexed
//! region access (.fai/.gzi, `chr:start-end`, BED), a streaming chunker with halos, and
//! the k-mer tokenizer. Readers know nothing of attention or motifs.
//!
//! # The pieces
//!
//! - [`SeqReader`] opens a path or `-` (stdin), detects plain/gzip/BGZF from the magic
//!   bytes and FASTA/FASTQ from the first byte, and fills a caller-owned [`Record`]
//!   with [`SeqReader::read_record`].
//! - [`SequenceSource`] is the streaming interface every reader implements
//!   (`next_record` + `read_bases`), so that records never need to be held whole.
//! - [`Chunker`] turns any source into [`Chunk`]s of `size` core bases plus
//!   `halo_left`/`halo_right` bases of context (clipped at record ends), holding at most
//!   `halo_left + size + halo_right + 1` bases whatever the record length.
//! - [`Region`] parses `chr:start-end` (1-based inclusive, as samtools) and [`read_bed`]
//!   reads BED (0-based half-open); [`IndexedFasta`] fetches regions through a .fai
//!   (and .gzi for bgzipped FASTA), reading or building the index.
//! - [`Tokenizer`] maps bases to k-mer ids of a [`Vocab`] (built in, DNABERT layout, or
//!   read from a vocab.txt) with a rolling 2-bit encoder.
//! - [`SpanTokenizer`] streams a record through a tokenizer whose tokens are not on a
//!   base grid, every token with its base span: [`LongestMatch`] (Nucleotide Transformer)
//!   or [`Bpe`] (a Hugging Face `tokenizer.json`, DNABERT-2).
//!
//! # Coordinates
//!
//! Every position in the API is 0-based; regions are half-open `[start, end)`. Only
//! the samtools notation `chr:start-end` is 1-based inclusive, and [`Region`]'s
//! `FromStr`/`Display` convert. A [`Chunk`]'s `start`, `core` and `origin` are positions
//! in the named sequence (for an indexed region: chromosome positions). Token `i` of a
//! record (or region) covers bases `[origin + i*stride, origin + i*stride + k)`.
//!
//! # Tokens
//!
//! The built-in vocabulary is `[PAD]`=0, `[UNK]`=1, `[CLS]`=2, `[SEP]`=3, `[MASK]`=4,
//! then the 4^k k-mers in A,T,C,G order (DNABERT's vocab.txt order). A k-mer holding any
//! base other than A/C/G/T (or, with [`SoftMask::Unknown`], a lower-case base) is
//! `[UNK]`.
//!
//! # Errors
//!
//! Functions return [`SeqError`], whose message names the line, record or region but
//! not the file: callers prefix the path.

mod bpe;
mod chunk;
mod error;
#[cfg(feature = "htslib")]
mod hts;
mod index;
mod input;
mod lines;
mod longest_match;
mod reader;
mod record;
mod region;
mod source;
mod span;
mod threaded;
mod tokenizer;
mod vocab;

pub use bpe::{Bpe, BpeState, BPE_LOOKAHEAD, BPE_PIECE};
pub use chunk::{Chunk, ChunkOptions, Chunker};
pub use error::SeqError;
#[cfg(feature = "htslib")]
pub use hts::{HtsOptions, HtsReader, Orientation, DEFAULT_EXCLUDE_FLAGS};
pub use index::{build_fai, build_gzi, read_fai, write_fai, FaiEntry, IndexedFasta, RegionReader};
pub use input::{is_url, needs_htslib, Compression};
pub use lines::MAX_TEXT_LINE;
pub use longest_match::{LongestMatch, LongestMatchState};
pub use reader::{Format, SeqReader, MAX_HEADER_LINE};
pub use record::{Record, RecordHeader};
pub use region::{bin_end, bins, read_bed, region_name, Region};
pub use source::SequenceSource;
pub use span::SpanTokenizer;
pub use tokenizer::{SoftMask, TokenSpan, Tokenizer, TokenizerOptions};
pub use vocab::{check_k, kmer_string, SpecialIds, Vocab, BASES, MAX_K, SPECIAL_TOKENS};
