//! Charts drawn on the server as SVG (plotters), inlined in the page: nothing loads from
//! elsewhere, no script runs, and they print. Each sits beside a table of the same numbers,
//! so the drawing is hidden from screen readers.

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{SegmentValue, ValueFormatter};
use plotters::prelude::*;

const WIDTH: u32 = 640;
const BAR: RGBColor = RGBColor(21, 101, 192);
const INK: RGBColor = RGBColor(34, 34, 34);
const FONT: &str = "sans-serif";

/// A chart that could not be drawn (it never should: the data are plain counts).
#[derive(Debug, thiserror::Error)]
#[error("chart: {0}")]
pub struct ChartError(String);

fn failed(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

/// One horizontal bar per label, in the order given.
pub fn bars(rows: &[(String, u64)]) -> Result<String, ChartError> {
    let n = rows.len().max(1);
    let height = 48 + 30 * u32::try_from(n).unwrap_or(u32::MAX / 64);
    let top = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let longest = rows
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(4);
    let label_area = u32::try_from(longest.clamp(4, 14) * 15 + 16).unwrap_or(226);
    canvas((WIDTH, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(label_area)
            .build_cartesian_2d(0u64..top + top.div_ceil(8), (0usize..n).into_segmented())
            .map_err(failed)?;
        // The first row is drawn at the top: segment 0 is at the bottom.
        let label = |at: &SegmentValue<usize>| match at {
            SegmentValue::CenterOf(i) => n
                .checked_sub(i + 1)
                .and_then(|row| rows.get(row))
                .map(|(l, _)| l.clone())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let mut mesh = chart.configure_mesh();
        mesh.disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&label)
            .x_labels(6)
            .x_label_formatter(&|v| v.to_string());
        draw_axes(&mut mesh, 15)?;
        chart
            .draw_series(
                Histogram::horizontal(&chart)
                    .style(BAR.filled())
                    .margin(6)
                    .data(rows.iter().enumerate().map(|(i, (_, v))| (n - 1 - i, *v))),
            )
            .map_err(failed)?;
        Ok(())
    })
}

/// A count per week as a line with a point per week, labelled by each week's first day.
pub fn trend(weeks: &[(String, u64)]) -> Result<String, ChartError> {
    let n = weeks.len().max(1);
    let top = weeks.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    canvas((WIDTH, 300), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(44)
            .build_cartesian_2d(
                0usize..n.saturating_sub(1).max(1),
                0u64..top + top.div_ceil(8),
            )
            .map_err(failed)?;
        let label = |i: &usize| weeks.get(*i).map(|(l, _)| l.clone()).unwrap_or_default();
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(n.min(8))
            .x_label_formatter(&label)
            .y_labels(6)
            .y_label_formatter(&|v| v.to_string());
        draw_axes(&mut mesh, 14)?;
        let points = weeks.iter().enumerate().map(|(i, (_, v))| (i, *v));
        chart
            .draw_series(LineSeries::new(points.clone(), BAR.stroke_width(3)))
            .map_err(failed)?;
        chart
            .draw_series(points.map(|p| Circle::new(p, 4, BAR.filled())))
            .map_err(failed)?;
        Ok(())
    })
}

/// A white SVG canvas of `size` to draw one chart on, returned as the page inlines it.
fn canvas(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), ChartError>,
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        draw(&root)?;
        root.present().map_err(failed)?;
    }
    Ok(hidden(svg))
}

/// Draws the axes and their labels in the charts' one style: ink, labels in `font_size`.
fn draw_axes<X, Y>(
    mesh: &mut MeshStyle<'_, '_, X, Y, SVGBackend<'_>>,
    font_size: u32,
) -> Result<(), ChartError>
where
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    mesh.label_style((FONT, font_size).into_font().color(&INK))
        .axis_style(INK)
        .draw()
        .map_err(failed)
}

/// The drawing is decoration beside its table: hidden from screen readers, scaled by CSS.
fn hidden(svg: String) -> String {
    svg.replacen(
        "<svg ",
        "<svg class=\"chart\" aria-hidden=\"true\" focusable=\"false\" ",
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_one_rectangle_per_row_with_their_labels() {
        let rows = [
            ("监督电话".to_string(), 7),
            ("举报箱来信".to_string(), 3),
            ("院坝会 <b>".to_string(), 0),
        ];
        let svg = bars(&rows).unwrap();
        assert!(svg.starts_with("<svg class=\"chart\" aria-hidden=\"true\""));
        for label in ["监督电话", "举报箱来信", "院坝会 &lt;b&gt;"] {
            assert!(svg.contains(label), "{label} in {svg}");
        }
        assert!(!svg.contains("<b>"), "labels are escaped");
        let bars = svg.matches("<rect").count();
        // The background, and a bar for each non-zero row.
        assert!(bars >= 3, "{svg}");
    }

    #[test]
    fn a_trend_has_a_point_per_week() {
        let weeks: Vec<(String, u64)> = (0..5)
            .map(|i| (format!("09-{:02}", i * 7 + 2), i))
            .collect();
        let svg = trend(&weeks).unwrap();
        assert_eq!(svg.matches("<circle").count(), 5, "{svg}");
        assert!(svg.contains("<polyline"));
        assert!(trend(&[]).is_ok(), "an empty period still draws");
    }
}
