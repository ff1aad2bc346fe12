//! gzip and BGZF input (seeded with compressed files): decompression with one and two
//! worker threads, then FASTA/FASTQ parsing.
#![no_main]
use glance_seq::{Record, SeqReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for threads in [1, 2] {
        let Ok(mut reader) =
            SeqReader::from_reader_with_threads(std::io::Cursor::new(data.to_vec()), threads)
        else {
            return;
        };
        let mut rec = Record::default();
        while let Ok(true) = reader.read_record(&mut rec) {}
    }
});
