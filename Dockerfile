# The writer and the reader in one image, as in the classic walkthrough:
# both binaries in a CentOS-family image as /bin/shm_write and /bin/shm_read.
#
#   scripts/image                                   # builds binaries + image
#   docker run -d --name shm-writer --ipc shareable shm-time
#   docker run --rm --ipc container:shm-writer shm-time /bin/shm_read
#
# The binaries are statically linked (scripts/build-static) and need nothing
# from the base image; the base only brings a shell and ipcs for looking
# around. Without registry access, scripts/base-image assembles a local base:
#   docker build --build-arg BASE_IMAGE=shm-time-base:local .
ARG BASE_IMAGE=quay.io/centos/centos:stream9
# scripts/image labels either stage with the OCI annotations (version,
# revision, licenses, description, source) from Cargo.toml and git.

# The minimal image: the two static binaries, their man pages and nothing
# else (no libc, no shell, no util-linux); `shm_read --list` stands in for ipcs.
#   docker build --target minimal --tag shm-time-minimal .
FROM scratch AS minimal
COPY target/x86_64-unknown-linux-gnu/release/shm_write /bin/shm_write
COPY target/x86_64-unknown-linux-gnu/release/shm_read /bin/shm_read
COPY man/ /usr/share/man/man1/
CMD ["/bin/shm_write"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/bin/shm_read", "--once"]

# The default image, on a base with a shell and ipcs for looking around.
FROM ${BASE_IMAGE}

# ipcs/ipcrm come from util-linux; install them only where they are missing.
RUN command -v ipcs >/dev/null || (dnf -y install util-linux && dnf clean all)

COPY target/x86_64-unknown-linux-gnu/release/shm_write /bin/shm_write
COPY target/x86_64-unknown-linux-gnu/release/shm_read /bin/shm_read
# The man pages (gzipped, as man reads them), made by the binaries.
COPY man/ /usr/share/man/man1/

# The writer runs as PID 1: it blocks SIGTERM/SIGINT/SIGHUP and reads them
# from a signalfd, so `docker stop` removes the segment and exits 0 at once.
# A command given to `docker run` replaces it: `... shm-time /bin/shm_read`.
CMD ["/bin/shm_write"]
STOPSIGNAL SIGTERM

# Healthy while a live writer publishes: in the writer's own container that
# is the writer itself; --once exits 0 only if a fresh reading answers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/bin/shm_read", "--once"]
