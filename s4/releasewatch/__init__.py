"""Release watch (docs/RELEASE_WATCH.md): decide which new releases are stable and ready (policy), publish a notice
website with an Atom feed, and notify the clients that use the software, offering a POC. Pure Python; the Ansible
action ``smartt.s4.release_watch`` and ``s4 release-watch`` are thin wrappers over :func:`watch.run`."""

from s4.releasewatch.policy import Decision, Policy, PolicyError, decide, load_catalog_releases
from s4.releasewatch.site import SiteConfig
from s4.releasewatch.smtp import SmtpConfig
from s4.releasewatch.store import Store
from s4.releasewatch.watch import Options, run

__all__ = ["Decision", "Options", "Policy", "PolicyError", "SiteConfig", "SmtpConfig", "Store", "decide",
           "load_catalog_releases", "run"]
