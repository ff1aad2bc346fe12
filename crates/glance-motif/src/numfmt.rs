//! Number formatting and rounding as the MEME suite's C code does it: printf `%g` /
//! `%.3g` and the `RND(x, digits)` macro FIMO applies to scores and p-values.

/// MEME suite `RND(x, d, y)`: round `x` to `d` significant digits
/// (`z = 10^ceil(d - 1 - log10|x|)`, `y = rint(z x) / z`).
pub fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { 0.0 } else { x };
    }
    let a = x.abs();
    let z = pow10((f64::from(digits) - 1.0 - a.log10()).ceil());
    let y = (z * a).round_ties_even() / z;
    if x > 0.0 {
        y
    } else {
        -y
    }
}

/// Exponents [`pow10`] keeps: every `ceil(d - 1 - log10|x|)` of a finite, non-zero `x`
/// and `d` up to 17 lies within this.
const POW10_KEPT: i32 = 360;

/// `10f64.powf(e)` for an integer-valued `e`: kept from the first call for the
/// exponents within [`POW10_KEPT`], as `powf` computed them (so the same bits), since
/// `powf` costs more than the rest of a rounding; other `e` go to `powf`.
fn pow10(e: f64) -> f64 {
    static KEPT: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    let kept = KEPT.get_or_init(|| {
        (-POW10_KEPT..=POW10_KEPT)
            .map(|k| 10f64.powf(f64::from(k)))
            .collect()
    });
    let bound = f64::from(POW10_KEPT);
    if e.fract() == 0.0 && (-bound..=bound).contains(&e) {
        kept[(e + bound) as usize]
    } else {
        10f64.powf(e)
    }
}

/// Appends the decimal digits of `v` to `out` (as `{}` formats it, without the
/// formatting machinery): two digits per division, from a table of the 100 pairs.
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    const PAIRS: [[u8; 2]; 100] = {
        let mut t = [[0u8; 2]; 100];
        let mut i = 0;
        while i < 100 {
            t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
            i += 1;
        }
        t
    };
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let pair = PAIRS[(v % 100) as usize];
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&pair);
    }
    if v >= 10 {
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[v as usize]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// Formats like C's `printf("%.{precision}g", x)` (no `#` flag: trailing zeros removed).
///
/// Fast paths (see [`write_g`]) give the digits of the exact binary value rounded to
/// `precision` digits, as C does; the exact, slower formatting decides where they
/// cannot be sure.
pub fn format_g(x: f64, precision: usize) -> String {
    let mut out = String::new();
    write_g(&mut out, x, precision);
    out
}

/// Appends `x` formatted as C's `%.{precision}g` to `out` (see [`format_g`]); no heap
/// allocation on the fast paths (the scan and region-score TSVs format millions of
/// numbers).
///
/// The digits come from the first of these that is sure of them:
/// 1. scaled integer: `x * 10^k` (or `x / 10^-k`) with `|k| <= 22` (an exact power
///    of ten, so one rounding: relative error below 2^-52) lands in `[10^(p-1), 10^p)`;
///    unless its fraction is within 1e-6 of a half, rounding it to an integer rounds
///    the exact value the same way (its absolute error is below 1e-9 for `p <= 6`);
/// 2. the shortest round-trip digits (`{:e}`) rounded to `p` digits: equal to rounding
///    the exact binary value unless they sit exactly on a rounding tie, because no
///    decimal with as few digits lies between `x` and its shortest representation;
/// 3. Rust's exact formatting.
pub fn write_g(out: &mut String, x: f64, precision: usize) {
    let p = precision.max(1);
    if x == 0.0 || !x.is_finite() {
        out.push_str(&format_g_exact(x, p));
        return;
    }
    let mut digits = [0u8; StackText::CAPACITY];
    let found =
        scaled_digits(x.abs(), p, &mut digits).or_else(|| shortest_digits(x, p, &mut digits));
    let Some((n, exp)) = found else {
        out.push_str(&format_g_exact(x, p));
        return;
    };
    let mut n = n;
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    push_layout(out, x < 0.0, &digits[..n], exp, p);
}

/// Powers of ten exactly representable in an f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Fast path 1 of [`write_g`] for `a > 0` and `p <= 6`: writes the `p` digits of `a`
/// rounded to `p` significant digits into `digits` and returns `(p, decimal
/// exponent)`, or `None` when unsure.
fn scaled_digits(a: f64, p: usize, digits: &mut [u8]) -> Option<(usize, i32)> {
    if p > 6 {
        return None;
    }
    // decimal exponent estimate from the binary one (may be one too small)
    let bexp = ((a.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    if bexp <= -1022 {
        return None; // subnormal
    }
    let mut e = (f64::from(bexp) * std::f64::consts::LOG10_2).floor() as i32;
    let lo = POW10[p - 1];
    let hi = POW10[p];
    for _ in 0..2 {
        let k = p as i32 - 1 - e;
        let scaled = match usize::try_from(k) {
            Ok(k) => a * *POW10.get(k)?,
            Err(_) => a / *POW10.get(usize::try_from(-k).ok()?)?,
        };
        if scaled >= hi {
            e += 1;
            continue;
        }
        if scaled < lo {
            e -= 1;
            continue;
        }
        let whole = scaled.floor();
        if (scaled - whole - 0.5).abs() < 1e-6 {
            return None;
        }
        let mut v = whole as u64 + u64::from(scaled - whole > 0.5);
        if v as f64 >= hi {
            // rounded up to 10^p: one more decimal, digits 10...0
            v /= 10;
            e += 1;
        }
        for slot in digits[..p].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        return Some((p, e));
    }
    None
}

/// Fast path 2 of [`write_g`]: the shortest round-trip digits of `x` (not 0, finite)
/// rounded to `p` digits into `digits`; `(digit count, decimal exponent)`, or `None` on
/// an exact tie.
fn shortest_digits(x: f64, p: usize, digits: &mut [u8]) -> Option<(usize, i32)> {
    use std::fmt::Write;
    let mut sci = StackText::default();
    write!(sci, "{:e}", x.abs()).ok()?;
    // `{:e}` of a finite non-zero value: `d[.ddd]e[-]x`, the shortest round-trip digits.
    let text = sci.as_bytes();
    let e_at = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let mut exp = parse_exponent(&text[(e_at + 1).min(text.len())..]);
    let mut n = 0;
    for &b in text[..e_at].iter().filter(|b| b.is_ascii_digit()) {
        digits[n] = b;
        n += 1;
    }
    if n > p {
        let rest = &digits[p..n];
        if rest[0] == b'5' && rest[1..].iter().all(|&d| d == b'0') {
            return None;
        }
        let up = rest[0] >= b'5';
        n = p;
        if up && round_up(&mut digits[..n]) {
            exp += 1;
        }
    }
    Some((n, exp))
}

/// Writes significant `digits` (no trailing zeros) with decimal exponent `exp` as `%g`
/// with precision `p` lays them out.
fn push_layout(out: &mut String, negative: bool, digits: &[u8], exp: i32, p: usize) {
    use std::fmt::Write;
    let n = digits.len();
    if negative {
        out.push('-');
    }
    let push_digits = |out: &mut String, ds: &[u8]| out.extend(ds.iter().map(|&d| d as char));
    if exp < -4 || exp >= p as i32 {
        out.push(digits[0] as char);
        if n > 1 {
            out.push('.');
            push_digits(out, &digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        push_digits(out, digits);
    } else {
        let int_len = exp as usize + 1;
        for i in 0..int_len {
            out.push(digits.get(i).map_or('0', |&d| d as char));
        }
        if n > int_len {
            out.push('.');
            push_digits(out, &digits[int_len..]);
        }
    }
}

/// Adds one unit in the last place to decimal digits; on a carry out of the first digit
/// (all nines) they become `10...0` cut to the same length, and `true` is returned (the
/// exponent grows by one).
fn round_up(digits: &mut [u8]) -> bool {
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return false;
        }
    }
    if let Some(first) = digits.first_mut() {
        *first = b'1';
    }
    true
}

/// The exponent of `{:e}` output (`-12`, `7`); 0 if malformed, which `{:e}` never is.
fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let value = body.iter().fold(0i32, |v, &b| {
        v.saturating_mul(10)
            .saturating_add(i32::from(b.wrapping_sub(b'0')))
    });
    if negative {
        -value
    } else {
        value
    }
}

/// A fixed-size text buffer on the stack for one `{:e}` rendering of an `f64` (at most
/// 17 digits, a point and `e-324`); writing more fails instead of allocating.
struct StackText {
    bytes: [u8; StackText::CAPACITY],
    len: usize,
}

impl Default for StackText {
    fn default() -> StackText {
        StackText {
            bytes: [0; StackText::CAPACITY],
            len: 0,
        }
    }
}

impl StackText {
    const CAPACITY: usize = 40;

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `%.{precision}g` by exact decimal expansion (Rust's exact formatting, which rounds
/// ties to even like glibc).
pub fn format_g_exact(x: f64, precision: usize) -> String {
    let p = precision.max(1);
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    // Exponent after rounding to p significant digits.
    let sci = format!("{:.*e}", p - 1, x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, x)).to_string()
    }
}

/// Removes trailing zeros after a decimal point, and the point itself if bare.
fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_g_matches_c_printf() {
        assert_eq!(format_g(1.2345e-5, 3), "1.23e-05");
        assert_eq!(format_g(0.000123456, 3), "0.000123");
        assert_eq!(format_g(18.540983606557376, 6), "18.541");
        assert_eq!(format_g(-3.25, 6), "-3.25");
        assert_eq!(format_g(1.0, 3), "1");
        assert_eq!(format_g(123456789.0, 6), "1.23457e+08");
        assert_eq!(format_g(0.0999999, 3), "0.1");
        assert_eq!(format_g(9.995e-5, 3), "0.0001"); // binary value lies above the tie
        assert_eq!(format_g(0.125, 2), "0.12"); // exact tie: round half to even like glibc
        assert_eq!(format_g(2.0e-10, 3), "2e-10");
        assert_eq!(format_g(100.0, 3), "100");
        assert_eq!(format_g(1000.0, 3), "1e+03");
    }

    #[test]
    fn fast_path_equals_exact_formatting() {
        let mut seed: u64 = 1;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            seed
        };
        for i in 0..200_000 {
            let r = next();
            let x = match i % 4 {
                0 => f64::from_bits(r >> 2) * if r & 1 == 1 { -1.0 } else { 1.0 },
                1 => (r % 100_000) as f64 / 10f64.powi((r % 12) as i32),
                2 => round_sig((r % 1_000_000_000) as f64 * 1e-14, 10),
                _ => (r % 2001) as f64 / 8.0 - 125.0,
            };
            if !x.is_finite() {
                continue;
            }
            for p in [3, 6] {
                assert_eq!(format_g(x, p), format_g_exact(x, p), "{x:e} p={p}");
            }
        }
    }

    #[test]
    fn push_u64_equals_display() {
        for v in [
            0u64,
            1,
            9,
            10,
            11,
            99,
            100,
            101,
            999,
            1000,
            12345,
            1 << 40,
            u64::MAX,
        ] {
            let mut s = b"x".to_vec();
            push_u64(&mut s, v);
            assert_eq!(s, format!("x{v}").into_bytes());
        }
    }

    /// The kept powers are `powf`'s, bit for bit, and other exponents still work.
    #[test]
    fn kept_powers_of_ten_are_powf_s() {
        for k in -POW10_KEPT - 5..=POW10_KEPT + 5 {
            let e = f64::from(k);
            assert_eq!(pow10(e).to_bits(), 10f64.powf(e).to_bits(), "{k}");
        }
        assert_eq!(pow10(0.5).to_bits(), 10f64.powf(0.5).to_bits());
        assert!(pow10(f64::NAN).is_nan());
    }

    #[test]
    fn round_sig_keeps_ten_digits() {
        assert_eq!(round_sig(18.540983606557376, 10), 18.54098361);
        assert_eq!(round_sig(-1.23456789012345, 10), -1.23456789);
        assert_eq!(round_sig(0.0, 10), 0.0);
    }
}
