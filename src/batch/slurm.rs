//! Slurm batch scripts for a sharded job: an array of shards and a merge
//! job that depends on it.
//!
//! The shard script passes the shard count explicitly (`--shard
//! $SLURM_ARRAY_TASK_ID/N`) rather than reading `SLURM_ARRAY_TASK_COUNT`:
//! a failed task resubmitted alone (`sbatch --array=3 shards.sbatch`) is an
//! array of one, but must still run shard 3 of N.

use std::path::{Path, PathBuf};

/// What the scripts run and ask of the scheduler.
#[derive(Clone, Debug)]
pub struct SlurmJob {
    /// The pbrsim binary (absolute).
    pub binary: PathBuf,
    /// `sweep` or `run`.
    pub command: String,
    /// The sweep or scenario file, as given (relative to `chdir`): the
    /// shards must name it exactly as the manifest recorded it.
    pub file: PathBuf,
    /// Working directory of every task (where `pbrsim slurm` ran).
    pub chdir: PathBuf,
    /// Extra arguments of every shard (iterations, seed, overrides...).
    pub args: Vec<String>,
    /// Output directory (absolute).
    pub out: PathBuf,
    /// Number of array tasks.
    pub tasks: u64,
    /// CPUs per task.
    pub cpus_per_task: u32,
    /// Throttle: tasks running at once.
    pub max_running: Option<u32>,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--time`.
    pub time: Option<String>,
    /// `--mem`.
    pub mem: Option<String>,
    /// Job name.
    pub name: String,
}

/// Quotes `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn path(p: &Path) -> String {
    shell_quote(&p.display().to_string())
}

impl SlurmJob {
    fn directives(&self, name: &str, log: &str) -> String {
        let mut d = format!(
            "#SBATCH --job-name={}\n#SBATCH --output={}\n#SBATCH --chdir={}\n",
            shell_quote(name),
            // sbatch reads % in --output as a pattern: a literal one is %%.
            shell_quote(
                &self
                    .out
                    .join("slurm")
                    .join("logs")
                    .display()
                    .to_string()
                    .replace('%', "%%")
            ) + "/"
                + log,
            path(&self.chdir)
        );
        for (key, value) in [
            ("partition", &self.partition),
            ("account", &self.account),
            ("time", &self.time),
        ] {
            if let Some(v) = value {
                d.push_str(&format!("#SBATCH --{key}={}\n", shell_quote(v)));
            }
        }
        d
    }

    /// `shards.sbatch`: one array task per shard.
    pub fn shards_script(&self) -> String {
        let array = match self.max_running {
            Some(k) => format!("0-{}%{k}", self.tasks - 1),
            None => format!("0-{}", self.tasks - 1),
        };
        let mut s = String::from("#!/bin/bash\n");
        s.push_str(&self.directives(&self.name, "shard-%a.out"));
        s.push_str(&format!(
            "#SBATCH --array={array}\n#SBATCH --cpus-per-task={}\n",
            self.cpus_per_task
        ));
        if let Some(m) = &self.mem {
            s.push_str(&format!("#SBATCH --mem={}\n", shell_quote(m)));
        }
        s.push_str(&format!(
            "# Shard $SLURM_ARRAY_TASK_ID of {tasks}. Rerun one shard alone with: sbatch --array=I {script}\n\
             # Finished work is kept: a rerun resumes where the shard stopped.\n\
             set -euo pipefail\n\
             exec {bin} {cmd} {file} --out {out} {args}--shard \"${{SLURM_ARRAY_TASK_ID}}/{tasks}\" --threads \"${{SLURM_CPUS_PER_TASK:-1}}\"\n",
            tasks = self.tasks,
            script = path(&self.out.join("slurm").join("shards.sbatch")),
            bin = path(&self.binary),
            cmd = self.command,
            file = path(&self.file),
            out = path(&self.out),
            args = self.args.iter().map(|a| shell_quote(a) + " ").collect::<String>(),
        ));
        s
    }

    /// `merge.sbatch`: combines the shards (fails, naming the shards to
    /// rerun, if any is missing).
    pub fn merge_script(&self) -> String {
        let mut s = String::from("#!/bin/bash\n");
        s.push_str(&self.directives(&format!("{}-merge", self.name), "merge.out"));
        s.push_str("#SBATCH --cpus-per-task=1\n");
        s.push_str(&format!(
            "set -euo pipefail\nexec {} merge {}\n",
            path(&self.binary),
            path(&self.out)
        ));
        s
    }

    /// `submit.sh`: submits the array, then the merge after every task has
    /// ended (`afterany`, so that a failed shard gets a merge message
    /// naming it rather than a merge job stuck pending).
    pub fn submit_script(&self) -> String {
        let dir = self.out.join("slurm");
        format!(
            "#!/bin/bash\n\
             # Submits the shards, then the merge once they have all ended.\n\
             set -euo pipefail\n\
             array=$(sbatch --parsable {shards})\n\
             array=${{array%%;*}}\n\
             merge=$(sbatch --parsable --dependency=afterany:$array {merge})\n\
             merge=${{merge%%;*}}\n\
             echo \"shards: job $array ({tasks} tasks); merge: job $merge\"\n\
             echo \"$array $merge\" > {ids}\n",
            shards = path(&dir.join("shards.sbatch")),
            merge = path(&dir.join("merge.sbatch")),
            tasks = self.tasks,
            ids = path(&dir.join("job-ids")),
        )
    }

    /// Writes the three scripts into `OUT/slurm/` (and creates the log
    /// directory); returns their paths.
    pub fn write(&self) -> Result<Vec<PathBuf>, crate::Error> {
        let dir = self.out.join("slurm");
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(|source| crate::Error::Write {
            path: logs.clone(),
            source,
        })?;
        let mut written = Vec::new();
        for (name, text) in [
            ("shards.sbatch", self.shards_script()),
            ("merge.sbatch", self.merge_script()),
            ("submit.sh", self.submit_script()),
        ] {
            let p = dir.join(name);
            crate::output::write_atomic(&p, |w| w.write_all(text.as_bytes()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).map_err(
                    |source| crate::Error::Write {
                        path: p.clone(),
                        source,
                    },
                )?;
            }
            written.push(p);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_the_shell() {
        assert_eq!(shell_quote("a/b-c.toml"), "a/b-c.toml");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("x y"), "'x y'");
        assert_eq!(shell_quote(""), "''");
    }
}
