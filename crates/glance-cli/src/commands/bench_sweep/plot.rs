//! `glance bench attention --sweep --plot`: the sweep's error against time as a PNG
//! scatter plot (plotters, bitmap backend, DejaVu Sans embedded so no system font is
//! needed; the PNG is encoded by the png crate). Built only with the cargo feature
//! `plot`, so the default binary does not link plotters.

use std::path::Path;

use glance::attn::{Approx, Spec};
use glance::io::AtomicFile;
use plotters::prelude::*;

use super::Row;
use crate::commands::bench::AttentionArgs;

/// Colour of a pattern's family in the plot.
fn colour(spec: &Spec) -> RGBColor {
    match spec {
        Spec::Exact(_) => RGBColor(31, 119, 180),
        Spec::Approx(Approx::Linformer(_)) => RGBColor(255, 127, 14),
        Spec::Approx(Approx::Performer(_)) => RGBColor(44, 160, 44),
        Spec::Approx(Approx::Lsh(_)) => RGBColor(214, 39, 40),
    }
}

/// Writes the error-vs-time scatter plot as a PNG (atomically).
pub(super) fn plot(path: &Path, rows: &[Row], args: &AttentionArgs) -> anyhow::Result<()> {
    const W: u32 = 1000;
    const H: u32 = 700;
    // The font is embedded: no fontconfig or system fonts needed.
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| anyhow::anyhow!("embedded font is invalid"))?;
    let mut pixels = vec![255u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let floor = 1e-6;
        let err = |r: &Row| r.error.max(floor);
        let (tmin, tmax) = rows.iter().fold((f64::MAX, f64::MIN), |(a, b), r| {
            (a.min(r.median_s), b.max(r.median_s))
        });
        let (emin, emax) = rows.iter().fold((f64::MAX, f64::MIN), |(a, b), r| {
            (a.min(err(r)), b.max(err(r)))
        });
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "attention: error vs full attention against time (n = {}, {} heads x {})",
                    args.len, args.heads, args.head_dim
                ),
                ("sans-serif", 20),
            )
            .margin(30)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(
                (tmin / 1.5..tmax * 1.5).log_scale(),
                (emin / 2.0..emax * 2.0).log_scale(),
            )
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("median seconds per call (log)")
            .y_desc("relative Frobenius error vs full (log)")
            .x_label_formatter(&|x| format!("{x:.3}"))
            .y_label_formatter(&|y| format!("{y:.0e}"))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
        for r in rows {
            let c = colour(&r.spec);
            let label = r.spec.to_string();
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((r.median_s, err(r)))
                        + Circle::new((0, 0), 5, c.filled())
                        + Text::new(label, (9, -7), ("sans-serif", 13).into_font().color(&c)),
                ))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    let mut file = AtomicFile::create(path)?;
    {
        let mut encoder = png::Encoder::new(file.writer(), W, H);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
    }
    file.commit()?;
    Ok(())
}

/// Plotters' drawing errors as anyhow errors.
fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow::anyhow!("plot: {e}")
}
