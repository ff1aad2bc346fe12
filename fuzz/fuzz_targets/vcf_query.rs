//! Region queries through a VCF's index (`glance_variant::VcfReader::query`): the
//! fuzzer's bytes become the tabix index of a valid bgzipped VCF (first byte even) or
//! the CSI index of a valid BCF (odd), and a region of each contig is read until the
//! end or the first error.
#![no_main]
use glance_fuzz::scratch;
use glance_seq::Region;
use glance_variant::noodles_vcf::variant::RecordBuf;
use glance_variant::VcfReader;
use libfuzzer_sys::fuzz_target;

const VCF_GZ: &[u8] = include_bytes!("../../test-data/variants/valid.vcf.gz");
const BCF: &[u8] = include_bytes!("../../test-data/variants/valid.bcf");

/// Records read per input at most.
const MAX_RECORDS: usize = 10_000;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, index)) = data.split_first() else {
        return;
    };
    let dir = scratch("vcf_query");
    let (name, body, ext) = if pick % 2 == 0 {
        ("input.vcf.gz", VCF_GZ, "tbi")
    } else {
        ("input.bcf", BCF, "csi")
    };
    let input = dir.join(name);
    if std::fs::write(&input, body).is_err()
        || std::fs::write(dir.join(format!("{name}.{ext}")), index).is_err()
    {
        return;
    }
    let regions = [
        Region::new("Kp1084_1000001_1003000", 100, 1000),
        Region::new("Kp1084_1100001_1102000", 0, 2000),
    ];
    let Ok(mut reader) = VcfReader::query(&input, &regions) else {
        return;
    };
    let mut record = RecordBuf::default();
    for _ in 0..MAX_RECORDS {
        match reader.read(&mut record) {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
});
