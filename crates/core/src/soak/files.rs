//! Open files: every connection is one, and a process may open only so many. Before many
//! clients start, [`make_room`] raises this process's limit to fit them (the soft limit up to
//! the hard one; the hard one too where the process may, as root on Linux) or says how many fit.

/// Open files kept for everything but the clients' sockets (the runtime, the history, stdio).
const SPARE_FILES: u64 = 256;

/// Where the clients' connections go, for counting what one costs this process.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The server runs in this process: its end of each connection is a file here too.
    pub embedded: bool,
    /// Through an emulated link: a relay's two sockets per connection.
    pub relayed: bool,
}

impl Route {
    fn files_per_client(self) -> u64 {
        1 + u64::from(self.embedded) + 2 * u64::from(self.relayed)
    }

    fn words(self) -> String {
        let mut words = vec!["its socket"];
        if self.embedded {
            words.push("the embedded server's end");
        }
        if self.relayed {
            words.push("the link relay's two");
        }
        words.join(", ")
    }
}

/// Raises the open-file limit so that `clients` connections fit, or explains why they cannot
/// and how many can.
pub fn make_room(clients: u64, route: Route) -> Result<(), String> {
    let per_client = route.files_per_client();
    let wanted = per_client.saturating_mul(clients).saturating_add(SPARE_FILES);
    let limit = raise_limit(wanted);
    if limit != 0 && limit < wanted {
        let allowed = limit.saturating_sub(SPARE_FILES) / per_client;
        return Err(format!(
            "{clients} clients need about {wanted} open files ({per_client} per client: {}), but this \
             process may open {limit} (the system's hard limit): at most {allowed} clients here. Raise the \
             hard limit (`ulimit -Hn` as root, or /etc/security/limits.conf), use fewer clients, or run the \
             server in its own process (`duplex serve`, then --target)",
            route.words()
        ));
    }
    Ok(())
}

/// Raises the limit towards `wanted`; returns the limit now (0: the OS has no such limit).
fn raise_limit(wanted: u64) -> u64 {
    let soft = rlimit::increase_nofile_limit(wanted).unwrap_or(0);
    #[cfg(unix)]
    if soft != 0 && soft < wanted {
        // A privileged process may raise the hard limit too (up to the kernel's nr_open);
        // an unprivileged one is refused, and the limit stays as it was.
        if rlimit::setrlimit(rlimit::Resource::NOFILE, wanted, wanted).is_ok() {
            return wanted;
        }
    }
    soft
}
