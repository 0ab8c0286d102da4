//! A timeline drawn as an SVG chart (the `svg` feature), with plotters'
//! SVG backend: one row per stage, its buffer's fill as an area against the
//! high mark, its throughput as a line, its state as a colour band.

use std::io;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::StageKind;
use crate::timeline::{StageState, Timeline};

const WIDTH: u32 = 1000;
const HEADER: u32 = 64;
const ROW: u32 = 190;

const FILL: RGBColor = RGBColor(70, 130, 180);
const MARK: RGBColor = RGBColor(170, 30, 30);
const RATE: RGBColor = RGBColor(230, 120, 0);

fn state_colour(s: StageState) -> RGBColor {
    match s {
        StageState::Working => RGBColor(56, 142, 60),
        StageState::WaitingIo => RGBColor(123, 31, 162),
        StageState::Blocked => RGBColor(211, 47, 47),
        StageState::Starved => RGBColor(240, 180, 30),
        StageState::Idle => RGBColor(215, 215, 215),
    }
}

fn fail<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(format!("drawing the timeline: {e}"))
}

/// How amounts of `unit` are shown: a divisor and its name.
fn scale(unit: &str, top: f64) -> (f64, &'static str, &'static str) {
    if unit == "bytes" {
        if top >= 4.0 * 1024.0 * 1024.0 {
            (1024.0 * 1024.0, "MiB", "MB/s")
        } else {
            (1024.0, "KiB", "MB/s")
        }
    } else {
        (1.0, "items", "items/s")
    }
}

impl Timeline {
    /// Draws the timeline as an SVG chart: one row per stage, source
    /// first, each with its output buffer's fill (area) against its high
    /// mark (line), its throughput (line, right axis), and a colour band of
    /// its state per sample (working, waiting on I/O, blocked, starved); the
    /// bottleneck's row says so. Text is left to the viewer's fonts.
    ///
    /// # Errors
    /// An error of kind `Other` if plotters fails to draw.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use weir::pipe::Pipeline;
    /// use weir::{readable, writable::ChunkWriter};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let src = readable::from_iter((0..100).map(|_| Bytes::from(vec![1u8; 1000])));
    /// let report = Pipeline::from(src)
    ///     .timeline(Duration::from_millis(10))
    ///     .into(ChunkWriter::new(tokio::io::sink()))
    ///     .run()
    ///     .await?;
    /// let svg = report.timeline().expect("asked for").to_svg()?;
    /// assert!(svg.starts_with("<svg") && svg.contains("source"));
    /// # Ok(()) }
    /// ```
    pub fn to_svg(&self) -> io::Result<String> {
        let mut out = String::new();
        {
            let rows = u32::try_from(self.stages.len().max(1)).unwrap_or(1);
            let root =
                SVGBackend::with_string(&mut out, (WIDTH, HEADER + ROW * rows)).into_drawing_area();
            root.fill(&WHITE).map_err(fail)?;
            let (head, body) = root.split_vertically(HEADER);
            self.draw_header(&head)?;
            let areas = body.split_evenly((self.stages.len().max(1), 1));
            for (i, area) in areas.iter().enumerate().take(self.stages.len()) {
                self.draw_stage(area, i)?;
            }
            root.present().map_err(fail)?;
        }
        Ok(out)
    }

    fn draw_header(&self, area: &DrawingArea<SVGBackend<'_>, Shift>) -> io::Result<()> {
        let title = format!(
            "weir run timeline: {:.1} s, a sample every {} ms{}",
            self.elapsed.as_secs_f64(),
            self.interval.as_millis(),
            self.bottleneck
                .as_deref()
                .map(|b| format!(", bottleneck: {b}"))
                .unwrap_or_default()
        );
        area.draw(&Text::new(title, (12, 8), ("sans-serif", 18).into_font()))
            .map_err(fail)?;
        let font = ("sans-serif", 13).into_font();
        let mut x = 12;
        let y = 38;
        let key = |label: &str, colour: RGBColor, x: &mut i32| -> io::Result<()> {
            area.draw(&Rectangle::new(
                [(*x, y), (*x + 14, y + 12)],
                colour.filled(),
            ))
            .map_err(fail)?;
            area.draw(&Text::new(label.to_string(), (*x + 18, y), font.clone()))
                .map_err(fail)?;
            *x += 26 + 7 * i32::try_from(label.len()).unwrap_or(20);
            Ok(())
        };
        key("buffered", RGBColor(165, 198, 225), &mut x)?;
        key("high mark", MARK, &mut x)?;
        key("throughput", RATE, &mut x)?;
        for s in [
            StageState::Working,
            StageState::WaitingIo,
            StageState::Blocked,
            StageState::Starved,
            StageState::Idle,
        ] {
            key(s.describe(), state_colour(s), &mut x)?;
        }
        Ok(())
    }

    fn draw_stage(&self, area: &DrawingArea<SVGBackend<'_>, Shift>, i: usize) -> io::Result<()> {
        let stage = &self.stages[i];
        let t_end = self.elapsed.as_secs_f64().max(1e-3);
        let peak = self
            .samples
            .iter()
            .map(|s| s.stages[i].buffered)
            .max()
            .unwrap_or(0)
            .max(stage.buffer_high);
        let (div, unit, rate_unit) = scale(stage.unit, peak as f64);
        let rate_div = if stage.unit == "bytes" { 1e6 } else { 1.0 };
        // A sink's throughput is what it takes in; the others', what they put out.
        let moved = |s: &crate::timeline::StageSample| {
            if stage.kind == StageKind::Sink {
                s.amount_in
            } else {
                s.amount_out
            }
        };
        let rates: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter(|s| !s.span.is_zero())
            .map(|s| {
                let mid = s.t.as_secs_f64() - s.span.as_secs_f64() / 2.0;
                (
                    mid,
                    moved(&s.stages[i]) as f64 / s.span.as_secs_f64() / rate_div,
                )
            })
            .collect();
        let y_top = (peak as f64 / div * 1.15).max(1.0);
        let r_top = rates.iter().map(|r| r.1).fold(0.0, f64::max).max(1e-3) * 1.15;
        // The band sits below zero, under the axes' labelled range.
        let (y_low, r_low) = (-0.16 * y_top, -0.16 * r_top);
        let bottleneck = self.bottleneck_index() == Some(i);
        let kind = match stage.kind {
            StageKind::Source => "source",
            StageKind::Sink => "sink",
            _ => "transform",
        };
        let caption = format!(
            "{} ({kind}){}",
            stage.name,
            if bottleneck { "  <- bottleneck" } else { "" }
        );
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 15).into_font())
            .margin(6)
            .x_label_area_size(30)
            .y_label_area_size(62)
            .right_y_label_area_size(62)
            .build_cartesian_2d(0f64..t_end, y_low..y_top)
            .map_err(fail)?
            .set_secondary_coord(0f64..t_end, r_low..r_top);
        let no_label = |_: &f64| String::new();
        let hide_negative = |v: &f64| {
            if *v < 0.0 {
                String::new()
            } else if *v >= 100.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(235, 235, 235))
            .x_desc("time (s)")
            .y_desc(if stage.kind == StageKind::Sink {
                "(no output buffer)".to_string()
            } else {
                format!("buffered ({unit})")
            })
            .y_label_formatter(if stage.kind == StageKind::Sink {
                &no_label
            } else {
                &hide_negative
            })
            .y_labels(5)
            .x_labels(10)
            .label_style(("sans-serif", 11))
            .draw()
            .map_err(fail)?;
        chart
            .configure_secondary_axes()
            .y_desc(format!("throughput ({rate_unit})"))
            .y_label_formatter(&hide_negative)
            .y_labels(5)
            .label_style(("sans-serif", 11))
            .draw()
            .map_err(fail)?;
        let mut fill: Vec<(f64, f64)> = vec![(0.0, 0.0)];
        fill.extend(
            self.samples
                .iter()
                .map(|s| (s.t.as_secs_f64(), s.stages[i].buffered as f64 / div)),
        );
        chart
            .draw_series(AreaSeries::new(fill, 0.0, FILL.mix(0.35)).border_style(FILL))
            .map_err(fail)?;
        if stage.buffer_high > 0 {
            let high = stage.buffer_high as f64 / div;
            chart
                .draw_series(LineSeries::new(
                    [(0.0, high), (t_end, high)],
                    MARK.stroke_width(1),
                ))
                .map_err(fail)?;
        }
        chart
            .draw_secondary_series(LineSeries::new(rates, RATE.stroke_width(2)))
            .map_err(fail)?;
        // The state band: one rectangle per run of samples in one state.
        let (b0, b1) = (0.9 * y_low, 0.25 * y_low);
        let mut runs: Vec<(f64, f64, StageState)> = Vec::new();
        for s in &self.samples {
            let state = s.stages[i].state;
            let (from, to) = (s.t.as_secs_f64() - s.span.as_secs_f64(), s.t.as_secs_f64());
            match runs.last_mut() {
                Some(last) if last.2 == state => last.1 = to,
                _ => runs.push((from, to, state)),
            }
        }
        chart
            .draw_series(runs.into_iter().map(|(from, to, state)| {
                Rectangle::new([(from, b0), (to, b1)], state_colour(state).filled())
            }))
            .map_err(fail)?;
        Ok(())
    }
}
