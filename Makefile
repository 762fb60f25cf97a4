# The national lottery on RabbitMQ. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
AGENCIES ?= 5
BETS ?= 20000
WINNERS ?= 1,2,3,4,5
BIN := bin
comma := ,

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build the programs into bin/
	$(GO) build -o $(BIN)/ ./agency ./lottery ./tools/gendata

.PHONY: data
data: build ## Generate the .data/agency-N.csv that are missing (AGENCIES, BETS, WINNERS); files there are kept
	$(BIN)/gendata -agencies $(AGENCIES) -bets $(BETS) -winners $(WINNERS) -out .data

.PHONY: new-data
new-data: build ## Replace .data/agency-1.csv … agency-AGENCIES.csv with newly generated ones, your own files too
	$(BIN)/gendata -agencies $(AGENCIES) -bets $(BETS) -winners $(WINNERS) -out .data -replace

.PHONY: certs
certs: ## A private certificate authority and TLS certificates in .certs/ (broker, lottery or its REPLICAS, AGENCIES agencies); renews what expires within 30 days
	$(GO) run ./tools/certs -out .certs -agencies $(AGENCIES) $(if $(filter-out 0 1,$(REPLICAS)),-replicas $(subst $(eval) ,$(comma),$(wordlist 1,$(REPLICAS),a b c d e f g h i)))

.PHONY: broker
broker: ## Make sure RabbitMQ and its management API answer (start or install it if not), with open files for AGENCIES agencies
	AGENCIES=$(AGENCIES) GO=$(GO) tools/ensure-broker.sh

.PHONY: demo
demo: data broker ## Run the lottery and the agencies natively on a fresh vhost; prints each agency's winners
	AGENCIES=$(AGENCIES) tools/demo.sh $(BIN)

.PHONY: cluster
cluster: ## Start a three-node RabbitMQ cluster on this machine (AMQP 5701-5703, UI 15701-15703, data in .cluster/)
	$(GO) build -o $(BIN)/ ./tools/cluster
	$(BIN)/cluster up

.PHONY: cluster-down
cluster-down: ## Stop the three-node cluster
	$(GO) build -o $(BIN)/ ./tools/cluster
	$(BIN)/cluster down

.PHONY: demo-cluster
demo-cluster: data cluster ## The demo on the three-node cluster, losing the node every program is on mid-run
	AGENCIES=$(AGENCIES) tools/demo-cluster.sh $(BIN)

.PHONY: test
test: broker ## Unit, broker-integration and end-to-end tests with -race against a real RabbitMQ (the heavy suites have targets of their own)
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

.PHONY: test-faults
test-faults: broker ## Fault-injection suite: random kills, SIGTERMs, failpoints and broker outages, on a node and on a cluster (FAULT_SEED, FAULT_ROUNDS, FAULT_CLUSTER_ROUNDS, FAULT_BETS, FAULT_COUNT)
	$(GO) test -race -tags faults -run TestFaults -count=1 -timeout 25m -v ./e2e 2>&1 | grep -v 'harness_test.go.*result: success' ; test $${PIPESTATUS[0]} -eq 0

.PHONY: bench
bench: build broker ## Benchmark the pipeline against a raw baseline (BENCH_BETS per agency, default 1000000; REPLICAS=2: two lottery replicas beside one; BENCH_MANY agencies at once, default 1000); writes bench-results/
	$(GO) build -o $(BIN)/ ./tools/bench ./tools/certs
	$(BIN)/bench -agencies $(AGENCIES) -bets $(or $(BENCH_BETS),1000000) -replicas $(or $(REPLICAS),0) -many $(or $(BENCH_MANY),1000)
	$(GO) test -run '^$$' -bench . -benchtime 500ms ./bet ./agency

# Pinned, and fetched and built by go run: nothing to install.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
ALL_TAGS := failpoints,faults,compose,cluster,replicas,outage,thousand

.PHONY: lint
lint: ## go mod tidy -diff, gofmt, go vet and staticcheck, over the code of every build tag
	$(GO) mod tidy -diff
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags $(ALL_TAGS) ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags $(ALL_TAGS) ./...

.PHONY: clean
clean: ## Remove built programs and generated data
	rm -rf $(BIN) .data

# --- docker compose deployment (needs a docker engine) ---

# CLUSTER=1: the compose targets run the broker as a cluster of three nodes,
# from docker-compose.cluster.yaml, a project with containers and volumes of
# its own. REPLICAS=2 (or more): the cluster with that many lottery replicas,
# lottery-a, lottery-b, …, from docker-compose.replicas.yaml, a project of
# its own too.
LOTTERIES := lottery
ifneq ($(filter-out 0 1,$(REPLICAS)),)
CLUSTER := 1
COMPOSE_FILE ?= docker-compose.replicas.yaml
COMPOSE_FLAGS := -replicas $(REPLICAS)
LOTTERIES := $(addprefix lottery-,$(wordlist 1,$(REPLICAS),a b c d e f g h i))
endif
ifeq ($(CLUSTER),1)
COMPOSE_FILE ?= docker-compose.cluster.yaml
export COMPOSE_FILE CLUSTER
COMPOSE_FLAGS ?= -cluster
BROKERS := rabbitmq-1 rabbitmq-2 rabbitmq-3 rabbitmq-ready
else
BROKERS := rabbitmq
endif

.PHONY: compose
compose: ## Write docker-compose.yaml (CLUSTER=1: docker-compose.cluster.yaml; REPLICAS=2: docker-compose.replicas.yaml) and its definitions for AGENCIES agencies (and the host ports into .env)
	$(GO) run ./tools/compose -agencies $(AGENCIES) $(COMPOSE_FLAGS)

.PHONY: passwords
passwords: ## A new random admin password (the management UI's) and Erlang cookie into .env and definitions.json (refused while the stack runs)
	tools/docker/preflight.sh stopped
	$(GO) run ./tools/compose -agencies $(AGENCIES) $(COMPOSE_FLAGS) -new-passwords

.PHONY: docker-image
docker-image: ## Build the lottery image and the one image every agency runs
	docker compose build $(firstword $(LOTTERIES)) agency1

.PHONY: docker-compose-up
docker-compose-up: compose certs data ## Start RabbitMQ (CLUSTER=1: three nodes; REPLICAS=2: and two lottery replicas), the lottery and AGENCIES agencies, all over TLS (writes the compose file, .certs and .data first, checks the host ports)
	tools/docker/preflight.sh ports
	AGENCIES=$(AGENCIES) tools/docker/preflight.sh files
	docker compose build $(firstword $(LOTTERIES)) agency1
	docker compose up -d --no-build --wait $(BROKERS)
	AGENCIES=$(AGENCIES) tools/docker/preflight.sh queues
	docker compose up -d --no-build

.PHONY: docker-compose-down
docker-compose-down: ## Stop every container with SIGTERM (within its stop_grace_period) and remove them; volumes are kept
	docker compose down

.PHONY: docker-compose-logs
docker-compose-logs: ## Follow the logs of every container
	docker compose logs -f

.PHONY: reset
reset: ## Start a new draw: remove the stack's containers and its broker's and lottery's volumes (not .data/)
	docker compose down -v --remove-orphans

.PHONY: test-outage
test-outage: broker ## A broker outage of over three minutes mid-run, on a private node: waited out, nothing lost (OUTAGE_SECONDS)
	$(GO) test -race -tags outage -run '^TestLongBrokerOutage$$' -count=1 -timeout 10m -v ./e2e 2>&1 | grep -v 'harness_test.go.*result: success' ; test $${PIPESTATUS[0]} -eq 0

.PHONY: test-thousand
test-thousand: broker ## 1,000 agencies of 100 bets at once on a private node with as many open files as the machine gives: every agency its winners, every bet once (THOUSAND_AGENCIES)
	$(GO) test -race -tags thousand -run '^TestThousandAgencies$$' -count=1 -timeout 15m -v ./e2e 2>&1 | grep -v 'harness_test.go.*result: success' ; test $${PIPESTATUS[0]} -eq 0

.PHONY: test-cluster
test-cluster: broker ## Failover on private three-node clusters: a node lost mid-run, three ways
	$(GO) test -race -tags cluster -run TestCluster -count=1 -timeout 12m -v ./e2e 2>&1 | grep -v 'harness_test.go.*result: success' ; test $${PIPESTATUS[0]} -eq 0

.PHONY: test-replicas
test-replicas: broker ## Two lottery replicas on a private three-node cluster: one lost for good mid-run, five ways
	$(GO) test -race -tags replicas -run '^TestReplicaLostForGood$$' -count=1 -timeout 10m -v ./e2e 2>&1 | grep -v 'harness_test.go.*result: success' ; test $${PIPESTATUS[0]} -eq 0

.PHONY: test-compose
test-compose: ## The compose deployment on a real docker engine, started (or installed) if none runs; at most 15 minutes
	tools/docker/with-engine.sh $(GO) test -tags compose -count=1 -timeout 15m -v ./e2e/compose

.PHONY: test-rabbitmq4
test-rabbitmq4: ## The broker and end-to-end tests against RabbitMQ 4.x in a container (a docker engine started, or installed, if none runs)
	tools/docker/with-engine.sh tools/docker/test-rabbitmq4.sh -timeout 20m
