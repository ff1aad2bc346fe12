//! VCF/BCF reading through `glance_variant::VcfReader` (plain, gzip or BGZF VCF, or BCF,
//! told apart by the bytes): the input written to a scratch file, opened, every record
//! read until the end or the first error, and the records read written back through
//! `VcfWriter` (bgzipped VCF with its tabix index, spans from INFO END).
#![no_main]
use glance_fuzz::scratch;
use glance_variant::noodles_vcf::variant::RecordBuf;
use glance_variant::{VcfReader, VcfWriter};
use libfuzzer_sys::fuzz_target;

/// Records read per input at most (a small input can declare many).
const MAX_RECORDS: usize = 10_000;

fuzz_target!(|data: &[u8]| {
    let dir = scratch("vcf_reader");
    let input = dir.join("input.vcf");
    if std::fs::write(&input, data).is_err() {
        return;
    }
    let Ok(mut reader) = VcfReader::open(&input) else {
        return;
    };
    let mut records = Vec::new();
    let mut record = RecordBuf::default();
    while records.len() < MAX_RECORDS {
        match reader.read(&mut record) {
            Ok(Some(_line)) => records.push(record.clone()),
            Ok(None) | Err(_) => break,
        }
    }
    let Ok(mut writer) = VcfWriter::create(&dir.join("out.vcf.gz"), reader.header(), &[]) else {
        return;
    };
    for r in &records {
        if writer.write(r).is_err() {
            return;
        }
    }
    let _ = writer.finish();
});
