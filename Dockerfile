# ferry, a forward caching HTTP proxy, in a container: built on Debian bookworm, run as
# a non-root user with only the shared libraries it links against.
#
#   docker build -t ferry .
#   docker run -d --name ferry -p 3128:3128 --stop-timeout 30 \
#     -v "$PWD/my-ferry.yaml:/etc/ferry/ferry.yaml:ro" ferry
#
# The built-in config (config/docker.yaml) only admits loopback clients: mount your own
# with `access.allow` naming the networks that may use the proxy.

# --- build -----------------------------------------------------------------------------
FROM debian:bookworm-slim AS build
WORKDIR /src
# The toolchain and -dev packages first, in their own layer, so source edits reuse it.
COPY scripts/setup scripts/setup
RUN scripts/setup build
COPY . .
RUN cmake --preset release \
 && cmake --build --preset release \
 && strip --strip-unneeded build/release/ferry

# --- runtime ---------------------------------------------------------------------------
FROM debian:bookworm-slim
# The runtime halves of the -dev packages scripts/setup installs (libstdc++, libgcc and
# libc are in the base image). tests/docker/check_dockerfile.sh checks this list
# against what the binary links.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcrypt1 \
      libevent-2.1-7 \
      libevent-pthreads-2.1-7 \
      libfmt9 \
      liblmdb0 \
      libnettle8 \
      libre2-9 \
      libspdlog1.10 \
      libsystemd0 \
      libyaml-cpp0.7 \
      zlib1g \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid, so a mounted cache volume can be chowned to it on the host.
RUN groupadd --system --gid 10001 ferry \
 && useradd --system --uid 10001 --gid ferry --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin ferry \
 && install -d -o ferry -g ferry -m 0750 /var/cache/ferry /var/log/ferry

COPY --from=build /src/build/release/ferry /usr/local/bin/ferry
COPY config/docker.yaml /etc/ferry/ferry.yaml

EXPOSE 3128
VOLUME /var/cache/ferry
# Numeric, so orchestrators can verify it is not root (runAsNonRoot); 10001 is `ferry`.
USER 10001:10001

# SIGTERM drains for up to the shutdown grace (10 s by default); docker's own stop
# timeout is also 10 s, so give `docker run`/`docker stop` a longer one (e.g. 30 s).
STOPSIGNAL SIGTERM
# No curl in the image: bash's /dev/tcp opens a TCP connection to the proxy port, which
# succeeds only while ferry is accepting.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3128"]

ENTRYPOINT ["/usr/local/bin/ferry"]
CMD ["--config", "/etc/ferry/ferry.yaml"]
