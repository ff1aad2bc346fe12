//! `glance model sweep`'s PREFIX.png: two panels over the window (log scale), the
//! cosine similarity to the reference (mean and minimum over bins) and the seconds per
//! Mb, the reference drawn as a red horizontal line. Same machinery as `glance bench
//! attention --sweep --plot` (plotters bitmap backend, embedded DejaVu Sans, png crate);
//! built only with the cargo feature `plot`.

use std::path::Path;

use glance::io::AtomicFile;
use plotters::prelude::*;

use super::Row;

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const RED: RGBColor = RGBColor(214, 39, 40);

/// Draws the plot and writes it to a temporary file beside `path`, returned uncommitted
/// so that the caller commits it together with the TSV.
pub(super) fn plot(path: &Path, rows: &[Row], model: &Path) -> anyhow::Result<AtomicFile> {
    const W: u32 = 1200;
    const H: u32 = 550;
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| anyhow::anyhow!("embedded font is invalid"))?;
    let reference = rows
        .iter()
        .find(|r| r.window.is_none())
        .ok_or_else(|| anyhow::anyhow!("plot: no reference row"))?;
    let swept: Vec<&Row> = rows.iter().filter(|r| r.window.is_some()).collect();
    let x = |r: &Row| r.window.unwrap_or(1) as f64;
    let (xmin, xmax) = swept
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), r| (a.min(x(r)), b.max(x(r))));
    let (xmin, xmax) = if swept.is_empty() {
        (1.0, 2.0)
    } else {
        (xmin, xmax)
    };
    let finite = |v: f64| v.is_finite().then_some(v);
    let low = swept
        .iter()
        .filter_map(|r| finite(r.min))
        .fold(1.0f64, f64::min);
    let span = (1.0 - low).max(1e-4);
    let (ylo, yhi) = (low - 0.1 * span, 1.0 + 0.1 * span);
    let tmax = rows
        .iter()
        .filter_map(|r| finite(r.seconds_per_mb))
        .fold(1e-9f64, f64::max);
    let name = model
        .file_name()
        .unwrap_or(model.as_os_str())
        .to_string_lossy()
        .into_owned();
    let mode = swept.first().map_or("", |r| r.mode.name());

    let mut pixels = vec![255u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let root = root
            .titled(
                &format!(
                    "glance model sweep: {name} ({mode}; reference: full, {} bins)",
                    reference.bins
                ),
                ("sans-serif", 20),
            )
            .map_err(draw_err)?;
        let panels = root.split_evenly((1, 2));
        let xrange = (xmin / 1.3..xmax * 1.3).log_scale();

        let mut cos = ChartBuilder::on(&panels[0])
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(xrange.clone(), ylo..yhi)
            .map_err(draw_err)?;
        cos.configure_mesh()
            .x_desc("window (tokens, log)")
            .y_desc("cosine to the reference")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.4}"))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
        cos.draw_series(std::iter::once(PathElement::new(
            vec![(xmin / 1.3, 1.0), (xmax * 1.3, 1.0)],
            RED.stroke_width(2),
        )))
        .map_err(draw_err)?
        .label("full (reference)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        for (label, colour, value) in [
            (
                "mean over bins",
                BLUE,
                (|r: &Row| r.mean) as fn(&Row) -> f64,
            ),
            ("min over bins", ORANGE, |r: &Row| r.min),
        ] {
            let points: Vec<(f64, f64)> = swept
                .iter()
                .filter(|r| value(r).is_finite())
                .map(|r| (x(r), value(r)))
                .collect();
            cos.draw_series(std::iter::once(PathElement::new(points.clone(), colour)))
                .map_err(draw_err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
            cos.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, colour.filled())),
            )
            .map_err(draw_err)?;
        }
        cos.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(draw_err)?;

        let mut time = ChartBuilder::on(&panels[1])
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(xrange, 0.0..tmax * 1.15)
            .map_err(draw_err)?;
        time.configure_mesh()
            .x_desc("window (tokens, log)")
            .y_desc("seconds per Mb")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.2}"))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
        if reference.seconds_per_mb.is_finite() {
            let t = reference.seconds_per_mb;
            time.draw_series(std::iter::once(PathElement::new(
                vec![(xmin / 1.3, t), (xmax * 1.3, t)],
                RED.stroke_width(2),
            )))
            .map_err(draw_err)?
            .label("full (reference)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        }
        let points: Vec<(f64, f64)> = swept
            .iter()
            .filter(|r| r.seconds_per_mb.is_finite())
            .map(|r| (x(r), r.seconds_per_mb))
            .collect();
        time.draw_series(std::iter::once(PathElement::new(points.clone(), BLUE)))
            .map_err(draw_err)?
            .label("window")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        time.draw_series(points.into_iter().map(|p| Circle::new(p, 4, BLUE.filled())))
            .map_err(draw_err)?;
        time.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(draw_err)?;
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
    Ok(file)
}

/// Plotters' drawing errors as anyhow errors.
fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow::anyhow!("plot: {e}")
}
