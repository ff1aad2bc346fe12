//! FASTA/FASTQ reading (format and compression detected from the bytes), then every
//! record tokenized (k from the first byte) so records of any shape reach the tokenizer.
#![no_main]
use glance_seq::{Record, SeqReader, Tokenizer, TokenizerOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let k = data.first().map_or(3, |b| (*b as usize % 12) + 1);
    let Ok(mut reader) =
        SeqReader::from_reader_with_threads(std::io::Cursor::new(data.to_vec()), 1)
    else {
        return;
    };
    let tok = Tokenizer::new(TokenizerOptions {
        k,
        ..Default::default()
    })
    .ok();
    let mut rec = Record::default();
    let mut ids = Vec::new();
    while let Ok(true) = reader.read_record(&mut rec) {
        if let Some(t) = &tok {
            ids.clear();
            t.tokenize_into(&rec.sequence, &mut ids);
        }
    }
});
