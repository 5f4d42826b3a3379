//! The tidy sweep table: one row per point and figure, parameter values as
//! columns; `sweep.csv` always, `sweep.parquet` when built with the
//! `parquet` feature (the default).

use super::{FigureRow, Manifest};
use crate::engine::RunResult;
use crate::error::Error;
use crate::output::{csv_number as num, figure_records, quantile_column, ratio, write_atomic};
use std::path::{Path, PathBuf};

/// The statistic columns of a figure row, after `party, figure, unit, n`.
pub fn stat_columns(quantiles: &[f64]) -> Vec<String> {
    let mut c: Vec<String> = ["mean", "mean_se", "sd"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for &p in quantiles {
        c.push(quantile_column(p));
        c.push(format!("{}_se", quantile_column(p)));
    }
    c.push("min".into());
    c.push("max".into());
    c
}

/// A point's rows: every figure, then the commissioner's ratios of means
/// (unit `ratio`, with only `mean` and `mean_se`; empty when undefined).
pub fn figure_rows(result: &RunResult, quantiles: &[f64]) -> Vec<FigureRow> {
    let columns = stat_columns(quantiles);
    let mut rows: Vec<FigureRow> = figure_records(result, quantiles)
        .into_iter()
        .map(|r| FigureRow {
            party: r["party"].as_str().unwrap_or_default().to_string(),
            figure: r["figure"].as_str().unwrap_or_default().to_string(),
            unit: r["unit"].as_str().unwrap_or_default().to_string(),
            n: r["n"].as_u64().unwrap_or(0),
            values: columns
                .iter()
                .map(|c| r[c].as_f64().unwrap_or(f64::NAN))
                .collect(),
        })
        .collect();
    for (r, (_, denominator, _)) in result.catalog.ratios.iter().zip(&result.summary.ratios) {
        let mut values = vec![f64::NAN; columns.len()];
        if let Some((estimate, se)) = ratio(result, &r.name) {
            values[0] = estimate;
            values[1] = se;
        }
        let n = denominator.n;
        // A segment's ratios are that segment's rows; the others the
        // commissioner's.
        let (party, figure) = match r.name.rsplit_once('.') {
            Some((segment, figure)) if r.name.starts_with("segment.") => (segment, figure),
            _ => ("commissioner", r.name.as_str()),
        };
        rows.push(FigureRow {
            party: party.into(),
            figure: figure.into(),
            unit: "ratio".into(),
            n,
            values,
        });
    }
    rows
}

/// A parameter column's values, typed by what every point holds.
enum Column {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
    Text(Vec<String>),
}

fn parameter_column(manifest: &Manifest, j: usize) -> Column {
    let values: Vec<toml::Value> = manifest
        .points
        .iter()
        .map(|(_, v)| {
            format!("v = {}", v[j])
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(v[j].clone()))
        })
        .collect();
    if values.iter().all(|v| v.is_integer()) {
        Column::Int(values.iter().map(|v| v.as_integer().unwrap_or(0)).collect())
    } else if values.iter().all(|v| v.is_integer() || v.is_float()) {
        Column::Float(
            values
                .iter()
                .map(|v| {
                    v.as_float()
                        .or(v.as_integer().map(|i| i as f64))
                        .unwrap_or(f64::NAN)
                })
                .collect(),
        )
    } else if values.iter().all(|v| v.is_bool()) {
        Column::Bool(
            values
                .iter()
                .map(|v| v.as_bool().unwrap_or(false))
                .collect(),
        )
    } else {
        Column::Text(
            values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect(),
        )
    }
}

impl Column {
    fn text(&self, p: usize) -> String {
        match self {
            Column::Int(v) => v[p].to_string(),
            Column::Float(v) => num(v[p]),
            Column::Bool(v) => v[p].to_string(),
            Column::Text(v) => v[p].clone(),
        }
    }
}

/// Scenario label of each point: the file name of its scenario.
fn scenario_labels(manifest: &Manifest) -> Vec<String> {
    manifest
        .points
        .iter()
        .map(|(s, _)| manifest.scenarios[*s].origin.clone())
        .collect()
}

/// Writes `sweep.csv` (and `sweep.parquet`) into `dir`.
pub fn write_sweep(
    dir: &Path,
    manifest: &Manifest,
    rows: &[Vec<FigureRow>],
) -> Result<Vec<PathBuf>, Error> {
    let stats = stat_columns(&manifest.quantiles);
    let params: Vec<Column> = (0..manifest.parameters.len())
        .map(|j| parameter_column(manifest, j))
        .collect();
    let labels = scenario_labels(manifest);
    let path = dir.join("sweep.csv");
    write_atomic(&path, |w| {
        let mut c = csv::Writer::from_writer(w);
        let mut header = vec!["point".to_string(), "scenario".to_string()];
        header.extend(manifest.parameters.iter().cloned());
        header.extend(
            ["party", "figure", "unit", "n"]
                .iter()
                .map(|s| s.to_string()),
        );
        header.extend(stats.iter().cloned());
        header.extend(
            [
                "sampling",
                "randomisations",
                "sweep_fingerprint",
                "seed",
                "iterations",
                "pbrsim_version",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        let [sampling, randomisations] = manifest.sampling.columns();
        c.write_record(&header)?;
        for (p, point_rows) in rows.iter().enumerate() {
            for r in point_rows {
                let mut rec = vec![p.to_string(), labels[p].clone()];
                rec.extend(params.iter().map(|col| col.text(p)));
                rec.extend([
                    r.party.clone(),
                    r.figure.clone(),
                    r.unit.clone(),
                    r.n.to_string(),
                ]);
                rec.extend(r.values.iter().map(|&x| num(x)));
                rec.extend([
                    sampling.clone(),
                    randomisations.clone(),
                    manifest.fingerprint.clone(),
                    manifest.seed.to_string(),
                    manifest.iterations.to_string(),
                    manifest.pbrsim_version.clone(),
                ]);
                c.write_record(&rec)?;
            }
        }
        c.flush()
    })?;
    #[allow(unused_mut)]
    let mut written = vec![path];
    #[cfg(feature = "parquet")]
    {
        let path = dir.join("sweep.parquet");
        parquet_out::write(&path, manifest, rows, &params, &labels, &stats)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(feature = "parquet")]
mod parquet_out {
    use super::{Column, FigureRow, Manifest};
    use crate::error::Error;
    use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
    use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::Type;
    use std::path::Path;
    use std::sync::Arc;

    /// A column's data, flattened over every row (point-major).
    enum Data {
        Int(Vec<i64>),
        OptionalInt(Vec<Option<i64>>),
        Float(Vec<Option<f64>>),
        Bool(Vec<bool>),
        Text(Vec<String>),
    }

    fn field(name: &str, data: &Data) -> Arc<Type> {
        let (physical, logical, repetition) = match data {
            Data::Int(_) => (Physical::INT64, None, Repetition::REQUIRED),
            Data::OptionalInt(_) => (Physical::INT64, None, Repetition::OPTIONAL),
            Data::Float(_) => (Physical::DOUBLE, None, Repetition::OPTIONAL),
            Data::Bool(_) => (Physical::BOOLEAN, None, Repetition::REQUIRED),
            Data::Text(_) => (
                Physical::BYTE_ARRAY,
                Some(LogicalType::String),
                Repetition::REQUIRED,
            ),
        };
        Arc::new(
            Type::primitive_type_builder(name, physical)
                .with_repetition(repetition)
                .with_logical_type(logical)
                .build()
                .expect("valid column type"),
        )
    }

    /// An optional column's values that are present, and each row's
    /// definition level (1 present, 0 null).
    fn present_and_levels<T: Copy>(v: &[Option<T>]) -> (Vec<T>, Vec<i16>) {
        (
            v.iter().flatten().copied().collect(),
            v.iter().map(|x| x.is_some() as i16).collect(),
        )
    }

    pub(super) fn write(
        path: &Path,
        manifest: &Manifest,
        rows: &[Vec<FigureRow>],
        params: &[Column],
        labels: &[String],
        stats: &[String],
    ) -> Result<(), Error> {
        let points: Vec<(usize, &FigureRow)> = rows
            .iter()
            .enumerate()
            .flat_map(|(p, rs)| rs.iter().map(move |r| (p, r)))
            .collect();
        let mut columns: Vec<(String, Data)> = vec![
            (
                "point".into(),
                Data::Int(points.iter().map(|(p, _)| *p as i64).collect()),
            ),
            (
                "scenario".into(),
                Data::Text(points.iter().map(|(p, _)| labels[*p].clone()).collect()),
            ),
        ];
        for (name, col) in manifest.parameters.iter().zip(params) {
            let data = match col {
                Column::Int(v) => Data::Int(points.iter().map(|(p, _)| v[*p]).collect()),
                Column::Float(v) => Data::Float(
                    points
                        .iter()
                        .map(|(p, _)| Some(v[*p]).filter(|x| x.is_finite()))
                        .collect(),
                ),
                Column::Bool(v) => Data::Bool(points.iter().map(|(p, _)| v[*p]).collect()),
                Column::Text(v) => Data::Text(points.iter().map(|(p, _)| v[*p].clone()).collect()),
            };
            columns.push((name.clone(), data));
        }
        columns.push((
            "party".into(),
            Data::Text(points.iter().map(|(_, r)| r.party.clone()).collect()),
        ));
        columns.push((
            "figure".into(),
            Data::Text(points.iter().map(|(_, r)| r.figure.clone()).collect()),
        ));
        columns.push((
            "unit".into(),
            Data::Text(points.iter().map(|(_, r)| r.unit.clone()).collect()),
        ));
        columns.push((
            "n".into(),
            Data::Int(points.iter().map(|(_, r)| r.n as i64).collect()),
        ));
        for (k, name) in stats.iter().enumerate() {
            columns.push((
                name.clone(),
                Data::Float(
                    points
                        .iter()
                        .map(|(_, r)| Some(r.values[k]).filter(|x| x.is_finite()))
                        .collect(),
                ),
            ));
        }
        let n = points.len();
        columns.push((
            "sampling".into(),
            Data::Text(vec![manifest.sampling.name().to_string(); n]),
        ));
        columns.push((
            "randomisations".into(),
            Data::OptionalInt(vec![
                manifest.sampling.randomisations().map(|r| r as i64);
                n
            ]),
        ));
        columns.push((
            "sweep_fingerprint".into(),
            Data::Text(vec![manifest.fingerprint.clone(); n]),
        ));
        columns.push(("seed".into(), Data::Int(vec![manifest.seed as i64; n])));
        columns.push((
            "iterations".into(),
            Data::Int(vec![manifest.iterations as i64; n]),
        ));
        columns.push((
            "pbrsim_version".into(),
            Data::Text(vec![manifest.pbrsim_version.clone(); n]),
        ));

        let schema = Arc::new(
            Type::group_type_builder("sweep")
                .with_fields(
                    columns
                        .iter()
                        .map(|(name, data)| field(name, data))
                        .collect(),
                )
                .build()
                .expect("valid schema"),
        );
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_created_by(format!("pbrsim {}", crate::VERSION))
                .build(),
        );
        let fail = |e: parquet::errors::ParquetError| Error::Write {
            path: path.into(),
            source: std::io::Error::other(e),
        };
        let mut buffer = Vec::new();
        let mut writer = SerializedFileWriter::new(&mut buffer, schema, props).map_err(fail)?;
        let mut group = writer.next_row_group().map_err(fail)?;
        let mut data = columns.iter();
        while let Some(mut col) = group.next_column().map_err(fail)? {
            let (_, d) = data.next().expect("one data per schema column");
            match d {
                Data::Int(v) => col
                    .typed::<Int64Type>()
                    .write_batch(v, None, None)
                    .map(|_| ()),
                Data::OptionalInt(v) => {
                    let (present, levels) = present_and_levels(v);
                    col.typed::<Int64Type>()
                        .write_batch(&present, Some(&levels), None)
                        .map(|_| ())
                }
                Data::Bool(v) => col
                    .typed::<BoolType>()
                    .write_batch(v, None, None)
                    .map(|_| ()),
                Data::Text(v) => {
                    let bytes: Vec<ByteArray> =
                        v.iter().map(|s| ByteArray::from(s.as_str())).collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&bytes, None, None)
                        .map(|_| ())
                }
                Data::Float(v) => {
                    let (present, levels) = present_and_levels(v);
                    col.typed::<DoubleType>()
                        .write_batch(&present, Some(&levels), None)
                        .map(|_| ())
                }
            }
            .map_err(fail)?;
            col.close().map_err(fail)?;
        }
        group.close().map_err(fail)?;
        writer.close().map_err(fail)?;
        crate::output::write_atomic(path, |w| w.write_all(&buffer))
    }
}
