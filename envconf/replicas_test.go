package envconf

import (
	"slices"
	"strings"
	"testing"
)

func TestParseReplicas(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"", nil, ""},
		{"a", []string{"a"}, ""},
		{"a,b2,c", []string{"a", "b2", "c"}, ""},
		{"a,,b", nil, `replica 2 is ""`},
		{"a,B", nil, `replica 2 is "B"`},
		{"a b", nil, `replica 1 is "a b"`},
		{"lottery-a", nil, `replica 1 is "lottery-a"`},
		{"a,b,a", nil, `"a" twice`},
		{"a,b,c,d,e,f,g,h,i,j", nil, "at most 9"},
	} {
		got, err := ParseReplicas(tc.in)
		if tc.wantErr == "" && (err != nil || !slices.Equal(got, tc.want)) {
			t.Errorf("ParseReplicas(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("ParseReplicas(%q) = %v; want an error with %q", tc.in, err, tc.wantErr)
		}
	}
}
