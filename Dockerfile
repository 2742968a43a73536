# Culex in a container, laid out like the official eclipse-mosquitto image: a compose file written for
# eclipse-mosquitto works by changing only `image:`.
#
#   docker build -t culex-mqtt .
#   docker run -p 1883:1883 -p 9001:9001 -v culex-data:/mosquitto/data culex-mqtt

ARG NODE_VERSION=20

# Build: compile TypeScript and pack the npm tarball (the same `npm pack` a release uses), then install that
# tarball's production dependencies only. Compilers are here in case a native module has no prebuilt binary.
FROM node:${NODE_VERSION}-bookworm-slim AS build
RUN apt-get update \
	&& apt-get install -y --no-install-recommends python3 make g++ \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm pack --pack-destination /tmp \
	&& mkdir -p /opt/culex \
	&& tar -xzf /tmp/culex-mqtt-*.tgz -C /opt/culex --strip-components=1 \
	&& cp package-lock.json /opt/culex/ \
	&& cd /opt/culex \
	&& npm ci --omit=dev --no-audit --no-fund \
	&& rm package-lock.json

# Run: Node and the packed broker only, as the unprivileged user `mosquitto` with eclipse-mosquitto's uid/gid
# 1883, so volumes made for that image keep working.
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
RUN groupadd --system --gid 1883 mosquitto \
	&& useradd --system --uid 1883 --gid mosquitto --home-dir /mosquitto --no-create-home \
		--shell /usr/sbin/nologin mosquitto
COPY --from=build /opt/culex /opt/culex
RUN ln -s /opt/culex/bin/culex.js /usr/local/bin/culex \
	&& ln -s /opt/culex/bin/culex-passwd.js /usr/local/bin/culex-passwd \
	&& mkdir -p /mosquitto/config /mosquitto/data /mosquitto/log
COPY packaging/docker/mosquitto.conf /mosquitto/config/mosquitto.conf
COPY packaging/docker/docker-entrypoint.sh /docker-entrypoint.sh
RUN chown -R mosquitto:mosquitto /mosquitto
USER mosquitto
VOLUME ["/mosquitto/data", "/mosquitto/log"]
EXPOSE 1883 9001
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["culex", "-c", "/mosquitto/config/mosquitto.conf"]
