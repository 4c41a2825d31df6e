# hammer — see README.md. `make run` and `make test` need nothing but Swift and PostgreSQL's server binaries.
.PHONY: run run-server run-worker db-migrate db-start db-stop build build-release test bench chaos api-fuzz grpc-trial test-ui proto clean

build:
	swift build

build-release:
	swift build -c release

## Server + worker on a project-local PostgreSQL (unless HAMMER_DATABASE_URL is set), migrated first.
run: build
	scripts/run.sh all

run-server: build
	scripts/run.sh server

run-worker: build
	scripts/run.sh worker

db-migrate: build
	scripts/run.sh migrate

db-start:
	scripts/postgres.sh start dev $${HAMMER_LOCAL_PG_PORT:-25429}

db-stop:
	scripts/postgres.sh stop dev

## Unit and integration tests on a throwaway PostgreSQL.
test:
	scripts/test.sh

clean:
	scripts/postgres.sh stop dev; scripts/postgres.sh stop test; rm -rf .local .build

## Benchmark (release build): throughput, latency, backlog, ceilings, RSS. ARGS="--quick" for a smoke run.
bench:
	swift build -c release --product hammer
	swift build -c release --product hammer-bench
	.build/release/hammer-bench run $(ARGS)

## Fault injection (debug build): kill -9 workers, PostgreSQL restarts, hostile receivers, overload. ARGS="--quick" for a short run.
chaos: build
	.build/debug/hammer-bench chaos $(ARGS)

## Regenerate Sources/Hammer/GRPC/Generated from proto/ (committed; builds never run this).
proto:
	scripts/proto.sh

## schemathesis against a live server, driven by /openapi.json.
api-fuzz: build
	scripts/api-fuzz.sh $(ARGS)

## A Python grpcio client generated from hammer v0.9.1's own proto (or ARGS=PATH.proto) against a live hammer all.
grpc-trial: build
	scripts/grpc-trial.sh $(ARGS)

## The web console in headless chromium (installs chromium, chromium-driver and selenium when missing).
test-ui: build
	scripts/test-ui.sh
