package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/loteria-nacional/pipeline/broker"
)

// brokerPIDs finds the local processes that listen on the AMQP ports of
// amqpURL's brokers (RabbitMQ's beam.smp, one a node), through /proc; 0 for
// one that is not local.
func brokerPIDs(amqpURL string) []int {
	var pids []int
	for _, u := range broker.URLs(amqpURL) {
		pids = append(pids, brokerPID(u))
	}
	return pids
}

// brokerPID finds the local process that listens on the AMQP port of
// amqpURL (RabbitMQ's beam.smp), through /proc; 0 when it is not local.
func brokerPID(amqpURL string) int {
	u, err := url.Parse(amqpURL)
	if err != nil {
		return 0
	}
	port := u.Port()
	if port == "" {
		port = "5672"
	}
	p, _ := strconv.Atoi(port)
	want := fmt.Sprintf(":%04X", p)
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(table)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && strings.HasSuffix(f[1], want) && f[3] == "0A" { // 0A: LISTEN
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		if target, err := os.Readlink(fd); err == nil && inodes[target] {
			pid, _ := strconv.Atoi(strings.Split(fd, "/")[2])
			return pid
		}
	}
	return 0
}

// cpuSeconds is the user and system CPU time the processes have used so far.
func cpuSeconds(pids []int) float64 {
	total := 0.0
	for _, pid := range pids {
		total += processCPU(pid)
	}
	return total
}

// processCPU is the user and system CPU time pid has used so far.
func processCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // clock ticks; 100 a second on Linux
}
