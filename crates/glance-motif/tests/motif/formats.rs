//! Motif formats: every reader against the same matrices, the MEME writer round trip,
//! and clear errors for malformed files.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::data;
use glance_motif::{parse_motifs, read_motifs, write_meme, MotifError, MotifFormat};

fn err(p: &str) -> String {
    read_motifs(&data(&format!("motifs/{p}")))
        .unwrap_err()
        .to_string()
}

#[test]
fn jaspar_counts_equal_the_meme_export() {
    let meme = read_motifs(&data("motifs/subset10.meme")).unwrap().motifs;
    let jaspar = read_motifs(&data("motifs/subset10.jaspar")).unwrap().motifs;
    assert_eq!(meme.len(), 10);
    assert_eq!(jaspar.len(), 10);
    for (a, b) in meme.iter().zip(&jaspar) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.alt_id, b.alt_id);
        assert_eq!(a.width(), b.width());
        // MEME rows are the count frequencies printed with 6 decimals; the .jaspar
        // counts are printed with 2.
        for (ra, rb) in a.probs.iter().zip(&b.probs) {
            for k in 0..4 {
                assert!((ra[k] - rb[k]).abs() < 5e-5, "{} {ra:?} {rb:?}", a.id);
            }
        }
        let (na, nb) = (a.nsites.unwrap(), b.nsites.unwrap());
        assert!((na - nb).abs() <= 1.0, "{} {na} {nb}", a.id);
    }
}

#[test]
fn transfac_pfm_and_jaspar_agree_on_ctcf() {
    let jaspar = read_motifs(&data("motifs/subset10.jaspar")).unwrap().motifs;
    let ctcf = &jaspar[0];
    let tf = read_motifs(&data("motifs/formats/ctcf.transfac"))
        .unwrap()
        .motifs;
    assert_eq!(tf.len(), 2);
    assert_eq!(tf[0].id, "MA0139.2");
    assert_eq!(tf[0].alt_id, "CTCF");
    let pfm = read_motifs(&data("motifs/formats/MA0139.2.pfm"))
        .unwrap()
        .motifs;
    assert_eq!(pfm[0].id, "MA0139.2");
    for m in [&tf[0], &pfm[0]] {
        assert_eq!(m.width(), 5);
        for i in 0..5 {
            for k in 0..4 {
                assert!((m.probs[i][k] - ctcf.probs[i][k]).abs() < 1e-12);
            }
        }
    }
    // a probability matrix in TRANSFAC stays as given
    assert_eq!(tf[1].probs[1], [0.7, 0.1, 0.1, 0.1]);
}

#[test]
fn homer_motifs_parse_with_name_and_consensus() {
    let h = read_motifs(&data("motifs/formats/two.motif"))
        .unwrap()
        .motifs;
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].id, "NFY/homer-like");
    assert_eq!(h[0].alt_id, "CCAAT");
    assert_eq!(h[0].width(), 6);
    assert_eq!(h[1].probs[0], [0.05, 0.05, 0.85, 0.05]);
    assert_eq!(h[1].nsites, None);
}

#[test]
fn meme_writer_round_trips() {
    let f = read_motifs(&data("motifs/subset10.meme")).unwrap();
    let mut out = Vec::new();
    write_meme(&mut out, &f.motifs, [0.25; 4]).unwrap();
    let back = parse_motifs(std::str::from_utf8(&out).unwrap(), MotifFormat::Meme, "x").unwrap();
    assert_eq!(back.motifs, f.motifs);
    assert_eq!(back.background, Some([0.25; 4]));
}

#[test]
fn bundled_set_has_every_jaspar_motif() {
    let f = glance_motif::bundled::jaspar().unwrap();
    assert_eq!(f.motifs.len(), 1019);
    assert!(f.motifs.iter().all(|m| (4..=33).contains(&m.width())));
    assert!(f
        .motifs
        .iter()
        .any(|m| m.id == "MA0139.2" && m.alt_id == "CTCF"));
}

#[test]
fn malformed_files_give_clear_errors() {
    let e = err("formats/bad_rowsum.meme");
    assert!(e.contains("motif BAD1") && e.contains("sum to 2"), "{e}");
    let e = err("formats/bad_alphabet.meme");
    assert!(e.contains("line 3") && e.contains("alphabet"), "{e}");
    let e = err("formats/bad_ragged.jaspar");
    assert!(e.contains("ragged"), "{e}");
    let e = err("formats/bad_duplicate.meme");
    assert!(
        e.contains("line 9") && e.contains("duplicate motif id DUP"),
        "{e}"
    );
    assert!(matches!(
        read_motifs(&data("motifs/formats/empty.meme")),
        Err(MotifError::Empty)
    ));
    let e = parse_motifs("hello\n", MotifFormat::Meme, "x")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a MEME motif file"), "{e}");
    let e = parse_motifs(
        "MEME version 4\nMOTIF A\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.5\n",
        MotifFormat::Meme,
        "x",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 4") && e.contains("ragged"), "{e}");
    let e = parse_motifs(
        ">M1\nA [ 1 2 ]\nC [ 1 x ]\nG [ 1 2 ]\nT [ 1 2 ]\n",
        MotifFormat::Jaspar,
        "x",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 3") && e.contains("not a number"), "{e}");
    let e = parse_motifs(
        ">M1\nA [ 1 2 ]\nC [ 1 2 ]\nN [ 1 2 ]\nT [ 1 2 ]\n",
        MotifFormat::Jaspar,
        "x",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 4") && e.contains("alphabet"), "{e}");
}
