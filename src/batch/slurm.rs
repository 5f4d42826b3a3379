//! Slurm batch scripts for a sharded job: an array of shards and a merge
//! job that depends on it.
//!
//! The shard script passes the shard count explicitly (`--shard
//! $SLURM_ARRAY_TASK_ID/N`) rather than reading `SLURM_ARRAY_TASK_COUNT`:
//! a failed task resubmitted alone (`sbatch --array=3 shards.sbatch`) is an
//! array of one, but must still run shard 3 of N.
//!
//! Every value written into a script (paths, directives, arguments) is
//! checked by [`script_text`] and shell-quoted: a newline would end an
//! `#SBATCH` line and run the rest as a command when the task starts, so
//! control characters are refused, never escaped.

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

/// `value` as it may go into a script or a printed command: refused (a
/// usage error naming `what`) when it holds a control character such as a
/// newline, or when it is a path that is not UTF-8 (its shown form would
/// name another file).
pub fn script_text(what: &str, value: &std::ffi::OsStr) -> Result<String, crate::Error> {
    let refuse = |message: &str| crate::Error::Usage {
        option: format!("{what} {value:?}"),
        message: message.into(),
    };
    let text = value
        .to_str()
        .ok_or_else(|| refuse("not UTF-8, so a script cannot name it exactly; rename it"))?;
    if text.chars().any(char::is_control) {
        return Err(refuse(
            "holds a newline or another control character, which a Slurm script or a \
             shell command cannot carry safely; rename it or choose another value",
        ));
    }
    Ok(text.to_string())
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
    /// Refuses a job whose scripts could not carry every value safely (see
    /// [`script_text`]); [`SlurmJob::write`] checks it, and a command
    /// checks it before it writes anything else.
    pub fn check(&self) -> Result<(), crate::Error> {
        for (what, p) in [
            ("the pbrsim binary", &self.binary),
            ("the file", &self.file),
            ("the working directory", &self.chdir),
            ("--out", &self.out),
        ] {
            script_text(what, p.as_os_str())?;
        }
        for (what, v) in [
            ("--partition", &self.partition),
            ("--account", &self.account),
            ("--time", &self.time),
            ("--mem", &self.mem),
        ] {
            if let Some(v) = v {
                script_text(what, v.as_ref())?;
            }
        }
        for a in self.args.iter().chain([&self.command, &self.name]) {
            script_text("an argument", a.as_ref())?;
        }
        Ok(())
    }

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
        self.check()?;
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

    #[test]
    fn control_characters_are_refused() {
        for bad in ["a\nb", "x\r", "tab\there", "\u{1b}[31m"] {
            assert!(script_text("--partition", bad.as_ref()).is_err(), "{bad:?}");
        }
        let ok = "it's $(a) `b`; c";
        assert_eq!(script_text("--account", ok.as_ref()).unwrap(), ok);
    }
}
