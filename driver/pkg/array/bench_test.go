package array

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

const benchVDiskHeader = "id!name!IO_group_id!IO_group_name!status!mdisk_grp_id!mdisk_grp_name!capacity!type!LC_id!LC_name!RC_id!RC_name!vdisk_UID!lc_map_count!copy_count!fast_write_state!se_copy_count!RC_change!compressed_copy_count!parent_mdisk_grp_id!parent_mdisk_grp_name!formatting!encrypt!volume_id!volume_name!function!ica!ica_bypass!ica_pid"

func benchVDiskList(n int) []byte {
	var b strings.Builder
	b.WriteString(benchVDiskHeader + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d!pvc-%08d!0!io_grp0!online!0!Pool0!10737418240!striped!!!!!6005076000ABCDEF%016X!0!1!empty!0!no!0!0!Pool0!no!no!%d!pvc-%08d!!off!off!\n", i, i, i, i, i)
	}
	return []byte(b.String())
}

type fixedTransport struct{ out []byte }

func (f fixedTransport) Run(context.Context, []string) ([]byte, []byte, error) {
	return f.out, nil, nil
}

// BenchmarkLsVDisks_10000 parses a 10 000-row lsvdisk (ListVolumes on a
// full array) end to end through the CLI layer.
func BenchmarkLsVDisks_10000(b *testing.B) {
	c := NewCLI(fixedTransport{benchVDiskList(10000)})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := c.LsVDisks(context.Background(), nil)
		if err != nil || len(v) != 10000 {
			b.Fatal(len(v), err)
		}
	}
}

func BenchmarkParseDetail_VDisk(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&sb, "key%d!value%d\n", i, i)
	}
	sb.WriteString("\ncopy_id!0\nstatus!online\n\ncopy_id!1\nstatus!online\n")
	out := []byte(sb.String())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if len(parseDetail(out)) != 3 {
			b.Fatal("sections")
		}
	}
}
