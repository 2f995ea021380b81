//! The devnet's child processes: each in a process group of its own with its output in a log file,
//! watched for an early exit, and stopped group by group so nothing it started is left running.

use anyhow::{Context as _, bail};
use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::Duration,
};
use tokio::process::{Child, Command};

/// How long a child gets to exit after SIGTERM before its group is killed.
const GRACE: Duration = Duration::from_secs(10);

/// One running child.
#[derive(Debug)]
struct Running {
    name: &'static str,
    log: PathBuf,
    child: Child,
    /// Its process group id (its own pid: each child leads a new group).
    group: i32,
}

/// The children started so far, stopped in reverse order by [`Children::stop`], or killed outright
/// when dropped (a panic, an early return) so that none outlives the devnet.
#[derive(Debug, Default)]
pub(crate) struct Children {
    running: Vec<Running>,
}

/// A child that ended on its own: which, how, and the end of its log.
#[derive(Debug)]
pub(crate) struct Exited {
    /// The child's name.
    pub(crate) name: &'static str,
    /// How it ended.
    pub(crate) status: ExitStatus,
    /// Its log file.
    pub(crate) log: PathBuf,
}

impl std::fmt::Display for Exited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} exited ({}); the end of {}:\n{}",
            self.name,
            self.status,
            self.log.display(),
            log_tail(&self.log, 30)
        )
    }
}

impl Children {
    /// Starts `command` as `name` in a new process group, stdout and stderr appended to `log`.
    pub(crate) fn spawn(
        &mut self,
        name: &'static str,
        mut command: Command,
        log: &Path,
    ) -> anyhow::Result<()> {
        let file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening the log {}", log.display()))?;
        let stderr = file
            .try_clone()
            .with_context(|| format!("opening the log {}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(stderr)
            // Its own group: a Ctrl-C in the terminal reaches the devnet only, which then stops the
            // children in order; and killing the group takes whatever the child started with it.
            .process_group(0)
            .kill_on_drop(true);
        // If the devnet itself is killed outright (SIGKILL), nothing runs its stop path: the kernel
        // then sends the child SIGTERM, so no anvil, indexer or agent outlives it. The signal follows
        // the thread that spawned the child; these are the runtime's worker threads, which live as
        // long as the devnet.
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches only the forked child's own state.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", command.as_std().get_program()))?;
        let group = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .context("a just-spawned child has a pid")?;
        self.running.push(Running {
            name,
            log: log.to_path_buf(),
            child,
            group,
        });
        Ok(())
    }

    /// The first child found to have exited, if any.
    pub(crate) fn exited(&mut self) -> anyhow::Result<Option<Exited>> {
        for running in &mut self.running {
            if let Some(status) = running
                .child
                .try_wait()
                .with_context(|| format!("checking on {}", running.name))?
            {
                return Ok(Some(Exited {
                    name: running.name,
                    status,
                    log: running.log.clone(),
                }));
            }
        }
        Ok(None)
    }

    /// Fails with the child's log tail if the child `name` has exited.
    pub(crate) fn check_alive(&mut self, name: &str) -> anyhow::Result<()> {
        if let Some(running) = self.running.iter_mut().find(|r| r.name == name)
            && let Some(status) = running.child.try_wait()?
        {
            let exited = Exited {
                name: running.name,
                status,
                log: running.log.clone(),
            };
            bail!("{exited}");
        }
        Ok(())
    }

    /// Waits for the child `name` to exit by itself (a command run to completion), failing with its
    /// log tail when it exits unsuccessfully. It is then no longer watched.
    pub(crate) async fn finish(&mut self, name: &str) -> anyhow::Result<()> {
        let index = self
            .running
            .iter()
            .position(|r| r.name == name)
            .with_context(|| format!("no child named {name}"))?;
        let status = self.running[index].child.wait().await?;
        let running = self.running.remove(index);
        // What it started in its group lives on (the lab's services): stopped by their own command.
        if !status.success() {
            let exited = Exited {
                name: running.name,
                status,
                log: running.log,
            };
            bail!("{exited}");
        }
        Ok(())
    }

    /// Stops every child, the last started first: SIGTERM to its group, SIGKILL to the group after
    /// [`GRACE`].
    pub(crate) async fn stop(&mut self) {
        while let Some(mut running) = self.running.pop() {
            signal_group(running.group, libc::SIGTERM);
            if tokio::time::timeout(GRACE, running.child.wait())
                .await
                .is_err()
            {
                eprintln!(
                    "devnet: {} did not stop within {}s of SIGTERM: killing it",
                    running.name,
                    GRACE.as_secs()
                );
            }
            // The child's helpers, if any, go with the group even when the child itself exited.
            signal_group(running.group, libc::SIGKILL);
            let _ = running.child.wait().await;
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for running in &self.running {
            signal_group(running.group, libc::SIGKILL);
        }
    }
}

/// Sends `signal` to every process of `group`; a group already gone is not an error.
fn signal_group(group: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals that process group; it touches no memory of ours.
    unsafe {
        libc::kill(-group, signal);
    }
}

/// The last `lines` lines of a log file, or why it could not be read.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(cannot read it: {error})"),
    }
}
