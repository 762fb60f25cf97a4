package envconf

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// MaxReplicas bounds LOTTERY_REPLICAS: each replica's queues take every
// message again.
const MaxReplicas = 9

// ParseReplicas parses LOTTERY_REPLICAS, the names of every lottery replica
// of a deployment separated by commas: each of [a-z0-9]+, none twice. ""
// is one lottery, with no replicas.
func ParseReplicas(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	names := strings.Split(s, ",")
	if len(names) > MaxReplicas {
		return nil, fmt.Errorf("LOTTERY_REPLICAS %q: %d replicas; at most %d", s, len(names), MaxReplicas)
	}
	for i, r := range names {
		if !replicaName.MatchString(r) {
			return nil, fmt.Errorf("LOTTERY_REPLICAS %q: replica %d is %q; want lowercase letters and digits only", s, i+1, r)
		}
		if slices.Contains(names[:i], r) {
			return nil, fmt.Errorf("LOTTERY_REPLICAS %q: %q twice", s, r)
		}
	}
	return names, nil
}

var replicaName = regexp.MustCompile(`^[a-z0-9]+$`)

// ReplicaNames are the names the project's tools give n lottery replicas:
// a, b, …; none under 2, which is one lottery.
func ReplicaNames(n int) []string {
	if n < 2 {
		return nil
	}
	names := make([]string, n)
	for i := range names {
		names[i] = string(rune('a' + i))
	}
	return names
}
