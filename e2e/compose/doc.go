// Package compose tests the docker compose deployment on a real docker
// engine, as a person runs it: make docker-compose-up, the management API,
// make docker-compose-down, a second up, make reset, make passwords and
// another number of agencies, in a copy of the repository so that the
// committed files stay as they are.
//
// Its tests are compiled only with the build tag compose: run them with
// make test-compose, which starts (or installs) an engine when none runs.
// Where the engine cannot pull the official images, tools/docker/standins.sh
// builds stand-ins, and the test names them in an override file, the only
// thing it changes besides the host ports (in .env) and the images' and
// project's names, which keep the test apart from a deployment of the same
// engine.
package compose
