//! Number formatting and rounding as the MEME suite's C code does it: printf `%g` /
//! `%.3g` and the `RND(x, digits)` macro FIMO applies to scores and p-values.

/// MEME suite `RND(x, d, y)`: round `x` to `d` significant digits
/// (`z = 10^ceil(d - 1 - log10|x|)`, `y = rint(z x) / z`).
pub fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { 0.0 } else { x };
    }
    let a = x.abs();
    let z = 10f64.powf((f64::from(digits) - 1.0 - a.log10()).ceil());
    let y = (z * a).round_ties_even() / z;
    if x > 0.0 {
        y
    } else {
        -y
    }
}

/// Formats like C's `printf("%.{precision}g", x)` (no `#` flag: trailing zeros removed).
pub fn format_g(x: f64, precision: usize) -> String {
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
    fn round_sig_keeps_ten_digits() {
        assert_eq!(round_sig(18.540983606557376, 10), 18.54098361);
        assert_eq!(round_sig(-1.23456789012345, 10), -1.23456789);
        assert_eq!(round_sig(0.0, 10), 0.0);
    }
}
