//! AMX (Advanced Matrix Extensions): whether this process may use the tiles
//! ([`enabled`]), the tile configuration every glance kernel uses ([`Tiles`]: eight
//! tiles of 16 rows x 64 bytes) and the one register block they are built from,
//! [`block`]: `C += A B` on 2 x 2 tiles of 16 x 16 f32 outputs (tiles 4-7), two tiles
//! of `A` rows (0, 1) and two of `B` panels (2, 3), the depth 32 bf16 (16 pairs) per
//! `tdpbf16ps`.
//!
//! Operand layouts (words are bf16 pairs along the depth, see [`crate::bf16::pair`]):
//! `A` is 32 rows of words `lda` words apart; a `B` panel is 16 output columns, one
//! 64-byte row of 16 words per pair of depth. Each output element is the same
//! instruction sequence whatever block it falls in, so a result does not depend on how
//! rows or columns are blocked.

#[cfg(target_arch = "x86_64")]
use std::arch::asm;
use std::sync::OnceLock;

/// Whether the CPU has AMX-TILE and AMX-BF16 and Linux let this process use the tile
/// data (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`, asked once).
pub fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            // CPUID leaf 7: structured extended features (AMX bits in EDX).
            let leaf = std::arch::x86_64::__cpuid_count(7, 0);
            let (amx_bf16, amx_tile) = (leaf.edx >> 22 & 1 == 1, leaf.edx >> 24 & 1 == 1);
            amx_bf16 && amx_tile && request_tile_state()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn request_tile_state() -> bool {
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: arch_prctl with ARCH_REQ_XCOMP_PERM only changes the process's
    // permission to use an extended state component; it touches no memory of ours.
    unsafe {
        libc::syscall(
            libc::SYS_arch_prctl,
            ARCH_REQ_XCOMP_PERM,
            XFEATURE_XTILEDATA,
        ) == 0
    }
}

#[cfg(all(not(target_os = "linux"), target_arch = "x86_64"))]
fn request_tile_state() -> bool {
    false
}

/// Palette 1, every tile 16 rows x 64 bytes.
#[cfg(target_arch = "x86_64")]
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

/// The tile configuration loaded on this thread (`ldtilecfg`); dropping it releases
/// the tiles (`tilerelease`). Hold one for the duration of a kernel's [`block`] calls,
/// on the thread that makes them.
#[derive(Debug)]
pub struct Tiles(());

impl Tiles {
    /// Loads palette 1 with eight full tiles (16 rows x 64 bytes) on this thread.
    ///
    /// # Safety
    /// [`enabled`] returned `true` (the CPU has AMX and the OS granted the tile state).
    #[cfg(target_arch = "x86_64")]
    pub unsafe fn load() -> Tiles {
        let mut cfg = TileConfig([0u8; 64]);
        cfg.0[0] = 1;
        for t in 0..8 {
            cfg.0[16 + 2 * t] = 64;
            cfg.0[48 + t] = 16;
        }
        asm!("ldtilecfg [{}]", in(reg) cfg.0.as_ptr(), options(nostack, readonly));
        Tiles(())
    }
}

#[cfg(target_arch = "x86_64")]
impl Drop for Tiles {
    fn drop(&mut self) {
        // SAFETY: a `Tiles` exists only after `Tiles::load` succeeded on an AMX CPU
        // with the tile state granted; `tilerelease` only resets the tile registers.
        unsafe { asm!("tilerelease", options(nostack, nomem)) }
    }
}

/// `C = A B` (or `C += A B` when `accumulate`) for one 32 x 32 block: `a` the first of
/// 32 rows of `A` (`lda` words apart), `b0`/`b1` two `B` panels (columns 0-15 and
/// 16-31), `pairs` pairs of depth (a multiple of 16), `c` 32 rows of 32 floats `ldc`
/// floats apart.
///
/// # Safety
/// A [`Tiles`] is held on this thread; `a` covers 32 rows of `pairs` words `lda` words
/// apart, each `b` panel `pairs` rows of 16 words, and `c` 32 rows of 32 floats `ldc`
/// floats apart; `pairs` is a multiple of 16.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn block(
    (a, lda): (*const u32, usize),
    (b0, b1): (*const u32, *const u32),
    pairs: usize,
    (c, ldc): (*mut f32, usize),
    accumulate: bool,
) {
    let a1 = a.add(16 * lda);
    let (c00, c01, c10, c11) = (c, c.add(16), c.add(16 * ldc), c.add(16 * ldc + 16));
    let ldc_bytes = ldc * 4;
    if accumulate {
        asm!(
            "tileloadd tmm4, [{c00} + {s}*1]",
            "tileloadd tmm5, [{c01} + {s}*1]",
            "tileloadd tmm6, [{c10} + {s}*1]",
            "tileloadd tmm7, [{c11} + {s}*1]",
            c00 = in(reg) c00,
            c01 = in(reg) c01,
            c10 = in(reg) c10,
            c11 = in(reg) c11,
            s = in(reg) ldc_bytes,
            options(nostack, readonly)
        );
    } else {
        asm!(
            "tilezero tmm4",
            "tilezero tmm5",
            "tilezero tmm6",
            "tilezero tmm7",
            options(nostack, nomem)
        );
    }
    let row_bytes = lda * 4;
    for q0 in (0..pairs).step_by(16) {
        asm!(
            "tileloadd tmm0, [{a0} + {ra}*1]",
            "tileloadd tmm1, [{a1} + {ra}*1]",
            "tileloadd tmm2, [{b0} + {rb}*1]",
            "tileloadd tmm3, [{b1} + {rb}*1]",
            "tdpbf16ps tmm4, tmm0, tmm2",
            "tdpbf16ps tmm5, tmm0, tmm3",
            "tdpbf16ps tmm6, tmm1, tmm2",
            "tdpbf16ps tmm7, tmm1, tmm3",
            a0 = in(reg) a.add(q0),
            a1 = in(reg) a1.add(q0),
            b0 = in(reg) b0.add(q0 * 16),
            b1 = in(reg) b1.add(q0 * 16),
            ra = in(reg) row_bytes,
            rb = in(reg) 64usize,
            options(nostack, readonly)
        );
    }
    asm!(
        "tilestored [{c00} + {s}*1], tmm4",
        "tilestored [{c01} + {s}*1], tmm5",
        "tilestored [{c10} + {s}*1], tmm6",
        "tilestored [{c11} + {s}*1], tmm7",
        c00 = in(reg) c00,
        c01 = in(reg) c01,
        c10 = in(reg) c10,
        c11 = in(reg) c11,
        s = in(reg) ldc_bytes,
        options(nostack)
    );
}
