//! The data-lake sink: a directory of files, one per batch, CSV, JSON lines or Parquet.
//!
//! A file is written under a temporary name starting with `.` (which Spark, Hive, DuckDB's
//! globs and `hdfs dfs -put DIR/*` skip), fsynced, renamed to its final name and the
//! directory fsynced: a reader sees a whole file or none. Temporary files left by a scorer
//! that died while writing hold rows that were never confirmed (so they are scored again):
//! they are deleted at start-up.
//!
//! Files are named `TABLE-YYYYMMDDTHHMMSS-PID-N.EXT` (the time the sink opened, UTC), so
//! names never collide between runs or between scorers sharing a directory.

use super::{format_utc, LakeFormat, SinkKind, SinkModel, SinkRow, SinkUrl};
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A lake directory being written.
pub(crate) struct LakeSink {
    dir: PathBuf,
    format: LakeFormat,
    model: SinkModel,
    /// `TABLE-YYYYMMDDTHHMMSS-PID`: every file name starts with it.
    prefix: String,
    files: u64,
    value_columns: Vec<String>,
}

impl LakeSink {
    /// Creates the directory if needed, proves it writable, and removes temporary files a
    /// dead scorer left.
    pub(crate) fn open(url: &SinkUrl, model: &SinkModel) -> Result<Self> {
        let SinkKind::Lake { dir, format } = &url.kind else {
            unreachable!("a lake sink for {url}");
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("sink {url}: cannot create {}", dir.display()))?;
        let stamp = format_utc(super::now_micros());
        let stamp: String = stamp[..19]
            .chars()
            .filter_map(|c| match c {
                '-' | ':' => None,
                ' ' => Some('T'),
                c => Some(c),
            })
            .collect();
        let prefix = format!("{}-{stamp}-{}", url.table, std::process::id());
        let probe = dir.join(format!(".{prefix}.probe"));
        File::create(&probe)
            .and_then(|_| std::fs::remove_file(&probe))
            .with_context(|| format!("sink {url}: cannot write in {}", dir.display()))?;
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("sink {url}: cannot list {}", dir.display()))?;
        let table_prefix = format!(".{}-", url.table);
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&table_prefix) && name.ends_with(".tmp") {
                tracing::warn!(
                    "sink {url}: removing {name}, left unfinished by a scorer that stopped \
                     (its rows were not confirmed, so they are scored again)"
                );
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(LakeSink {
            dir: dir.clone(),
            format: *format,
            model: model.clone(),
            prefix,
            files: 0,
            value_columns: model.value_columns(),
        })
    }

    /// Writes `rows` as one complete file.
    pub(crate) fn write_batch(&mut self, rows: &[SinkRow]) -> Result<()> {
        let name = format!(
            "{}-{:06}.{}",
            self.prefix,
            self.files + 1,
            self.format.extension()
        );
        let temp = self.dir.join(format!(".{name}.tmp"));
        let result = self.write_file(&temp, rows).and_then(|()| {
            std::fs::rename(&temp, self.dir.join(&name))
                .with_context(|| format!("cannot rename {} to {name}", temp.display()))?;
            // The rename is durable only once the directory is.
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("cannot sync {}", self.dir.display()))
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result?;
        self.files += 1;
        Ok(())
    }

    fn write_file(&self, path: &Path, rows: &[SinkRow]) -> Result<()> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let written = match self.format {
            LakeFormat::Csv => self.write_csv(&mut out, rows),
            LakeFormat::Jsonl => self.write_jsonl(&mut out, rows),
            LakeFormat::Parquet => {
                return self.write_parquet(out, rows).and_then(|file| {
                    file.sync_all()
                        .with_context(|| format!("cannot sync {}", path.display()))
                })
            }
        };
        written.with_context(|| format!("cannot write {}", path.display()))?;
        let file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot sync {}", path.display()))
    }

    /// A value as the scorer prints it: the model's float in its shortest round-trip form.
    fn value(&self, v: f64, out: &mut Vec<u8>) {
        if self.model.single {
            let _ = write!(out, "{}", v as f32);
        } else {
            let _ = write!(out, "{v}");
        }
    }

    fn write_csv(&self, out: &mut impl Write, rows: &[SinkRow]) -> Result<()> {
        let mut csv = csv::WriterBuilder::new().from_writer(out);
        csv.write_record(self.model.columns())?;
        let mut text = Vec::new();
        for row in rows {
            let mut record: Vec<Vec<u8>> = vec![
                row.key.as_bytes().to_vec(),
                self.model.name.as_bytes().to_vec(),
                self.model.sha256.as_bytes().to_vec(),
                // ISO 8601 with the zone, which every reader parses as UTC.
                format!("{}Z", format_utc(row.scored_at).replace(' ', "T")).into_bytes(),
                row.partition
                    .map(|p| p.to_string())
                    .unwrap_or_default()
                    .into_bytes(),
                row.offset
                    .map(|o| o.to_string())
                    .unwrap_or_default()
                    .into_bytes(),
            ];
            for i in 0..self.model.width {
                text.clear();
                match row.values.get(i) {
                    Some(&v) if v.is_finite() => self.value(v, &mut text),
                    _ => {}
                }
                record.push(text.clone());
            }
            record.push(row.error.clone().unwrap_or_default().into_bytes());
            csv.write_record(&record)?;
        }
        csv.flush()?;
        Ok(())
    }

    fn write_jsonl(&self, out: &mut impl Write, rows: &[SinkRow]) -> Result<()> {
        let json = |s: &str| serde_json::Value::from(s).to_string();
        let (model, sha) = (json(&self.model.name), json(&self.model.sha256));
        let mut line = Vec::with_capacity(256);
        for row in rows {
            line.clear();
            let _ = write!(
                line,
                "{{\"key\":{},\"model\":{model},\"model_sha256\":{sha},\"scored_at\":\"{}Z\"",
                json(&row.key),
                format_utc(row.scored_at).replace(' ', "T"),
            );
            if let Some(p) = row.partition {
                let _ = write!(line, ",\"source_partition\":{p}");
            }
            if let Some(o) = row.offset {
                let _ = write!(line, ",\"source_offset\":{o}");
            }
            for (i, column) in self.value_columns.iter().enumerate() {
                let _ = write!(line, ",\"{column}\":");
                match row.values.get(i) {
                    Some(&v) if v.is_finite() => self.value(v, &mut line),
                    _ => line.extend_from_slice(b"null"),
                }
            }
            match &row.error {
                Some(e) => {
                    let _ = write!(line, ",\"error\":{}", json(e));
                }
                None => line.extend_from_slice(b",\"error\":null"),
            }
            line.extend_from_slice(b"}\n");
            out.write_all(&line)?;
        }
        Ok(())
    }

    /// Writes one row group; returns the file, flushed but not yet synced.
    fn write_parquet(&self, out: BufWriter<File>, rows: &[SinkRow]) -> Result<File> {
        use parquet::data_type::Int64Type;
        use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type};
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;

        let float = if self.model.single { "float" } else { "double" };
        let mut schema = String::from(
            "message predictions {\n\
             required binary key (STRING);\n\
             required binary model (STRING);\n\
             required binary model_sha256 (STRING);\n\
             required int64 scored_at (TIMESTAMP(MICROS,true));\n\
             optional int32 source_partition;\n\
             optional int64 source_offset;\n",
        );
        for column in &self.value_columns {
            schema.push_str(&format!("optional {float} {column};\n"));
        }
        schema.push_str("optional binary error (STRING);\n}\n");
        let schema = std::sync::Arc::new(parquet::schema::parser::parse_message_type(&schema)?);
        let props = std::sync::Arc::new(
            WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .set_created_by(format!("timber-serve {}", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        let mut writer = SerializedFileWriter::new(out, schema, props)?;
        let mut group = writer.next_row_group()?;
        let text = |f: &dyn Fn(&SinkRow) -> &str| -> Vec<ByteArray> {
            rows.iter().map(|r| ByteArray::from(f(r))).collect()
        };
        // Definition levels: 1 = present, 0 = NULL.
        let levels = |present: &dyn Fn(&SinkRow) -> bool| -> Vec<i16> {
            rows.iter().map(|r| i16::from(present(r))).collect()
        };
        let mut column = 0usize;
        while let Some(mut col) = group.next_column()? {
            match column {
                0 => {
                    col.typed::<ByteArrayType>()
                        .write_batch(&text(&|r| &r.key), None, None)?;
                }
                1 => {
                    let v = vec![ByteArray::from(self.model.name.as_str()); rows.len()];
                    col.typed::<ByteArrayType>().write_batch(&v, None, None)?;
                }
                2 => {
                    let v = vec![ByteArray::from(self.model.sha256.as_str()); rows.len()];
                    col.typed::<ByteArrayType>().write_batch(&v, None, None)?;
                }
                3 => {
                    let v: Vec<i64> = rows.iter().map(|r| r.scored_at).collect();
                    col.typed::<Int64Type>().write_batch(&v, None, None)?;
                }
                4 => {
                    let v: Vec<i32> = rows.iter().filter_map(|r| r.partition).collect();
                    let d = levels(&|r| r.partition.is_some());
                    col.typed::<Int32Type>().write_batch(&v, Some(&d), None)?;
                }
                5 => {
                    let v: Vec<i64> = rows.iter().filter_map(|r| r.offset).collect();
                    let d = levels(&|r| r.offset.is_some());
                    col.typed::<Int64Type>().write_batch(&v, Some(&d), None)?;
                }
                c if c < 6 + self.model.width => {
                    let i = c - 6;
                    let value = |r: &SinkRow| r.values.get(i).copied().filter(|v| v.is_finite());
                    let d = levels(&|r| value(r).is_some());
                    if self.model.single {
                        let v: Vec<f32> = rows.iter().filter_map(value).map(|v| v as f32).collect();
                        col.typed::<FloatType>().write_batch(&v, Some(&d), None)?;
                    } else {
                        let v: Vec<f64> = rows.iter().filter_map(value).collect();
                        col.typed::<DoubleType>().write_batch(&v, Some(&d), None)?;
                    }
                }
                _ => {
                    let v: Vec<ByteArray> = rows
                        .iter()
                        .filter_map(|r| r.error.as_deref().map(ByteArray::from))
                        .collect();
                    let d = levels(&|r| r.error.is_some());
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&d), None)?;
                }
            }
            col.close()?;
            column += 1;
        }
        group.close()?;
        let out = writer.into_inner()?;
        out.into_inner()
            .map_err(|e| anyhow::Error::new(e.into_error()))
    }
}
