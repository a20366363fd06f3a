package array_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/array/arraytest"
)

const (
	vdiskHeader = "id!name!IO_group_id!IO_group_name!status!mdisk_grp_id!mdisk_grp_name!capacity!type!LC_id!LC_name!RC_id!RC_name!vdisk_UID!lc_map_count!copy_count!fast_write_state!se_copy_count!RC_change!compressed_copy_count!parent_mdisk_grp_id!parent_mdisk_grp_name!formatting!encrypt!volume_id!volume_name!function!ica!ica_bypass!ica_pid"
	vdiskRow    = "3!pvc-1!0!io_grp0!online!0!Pool0!10737418240!striped!!!!!6005076000ABCDEF0000000000000003!0!1!empty!0!no!0!0!Pool0!no!no!3!pvc-1!!off!off!"
	lcmapHeader = "id!name!source_vdisk_id!source_vdisk_name!target_vdisk_id!target_vdisk_name!group_id!group_name!status!progress!copy_rate!clean_progress!incremental!partner_FC_id!partner_FC_name!restoring!start_time!rc_controlled"
)

func newCLI(t *testing.T) (*array.CLI, *arraytest.Scripted) {
	s := arraytest.NewScripted(t)
	return array.NewCLI(s), s
}

// Every Client method sends exactly the command line [G] sends
// (mcs-cli.md §4, §6) and parses the answer.
func TestCommandShapes(t *testing.T) {
	ctx := context.Background()
	created := func(what string) arraytest.Response {
		return arraytest.OK(what + ", id [7], successfully created\n")
	}
	tests := []struct {
		name string
		cmd  string
		resp arraytest.Response
		call func(c array.Client) (any, error)
		want any
	}{
		{"lssystem", "mcsinq lssystem -delim !", arraytest.OK("id!0123456789ABCDEF\nname!mcs1\ncode_level!3.1.1.0 (build 87.0)\n"),
			func(c array.Client) (any, error) { return c.LsSystem(ctx) },
			array.System{ID: "0123456789ABCDEF", Name: "mcs1", CodeLevel: "3.1.1.0 (build 87.0)"}},
		{"lsiogrp", "mcsinq lsiogrp -delim !", arraytest.OK("id!name!node_count!vdisk_count!host_count!site_id!site_name\n0!io_grp0!2!5!1!1!siteA\n"),
			func(c array.Client) (any, error) { return c.LsIOGrp(ctx) },
			[]array.IOGroup{{ID: "0", Name: "io_grp0", NodeCount: 2, VDiskCount: 5, SiteID: "1", SiteName: "siteA"}}},
		{"lsnode", "mcsinq lsnode -delim !", arraytest.OK("id!name!UPS_serial_number!WWNN!status!IO_group_id!IO_group_name!config_node!UPS_unique_id!hardware!iscsi_name!iscsi_alias!panel_name!enclosure_id!canister_id!enclosure_serial_number!site_id!site_name\n1!node1!!123456789ABCDEF0!online!0!io_grp0!yes!!100!iqn.2004-12.com.inspur:mcs.mcs1.node1!!01-1!1!1!0123ABC!1!siteA\n"),
			func(c array.Client) (any, error) { return c.LsNode(ctx) },
			[]array.Node{{ID: "1", Name: "node1", Status: "online", IOGroupID: "0", IOGroupName: "io_grp0", ISCSIName: "iqn.2004-12.com.inspur:mcs.mcs1.node1", SiteID: "1", SiteName: "siteA"}}},
		{"lsportip usable rule", "mcsinq lsportip -delim !", arraytest.OK(
			"id!node_id!node_name!IP_address!mask!gateway!IP_address_6!prefix_6!gateway_6!MAC!duplex!state!speed!failover!link_state\n" +
				"1!1!node1!127.0.0.1!!!!!!!!online!!no!active\n" +
				"1!1!node1!!!!!!!!!online!!yes!\n" +
				"2!1!node1!127.0.0.2!!!!!!!!configured!!no!inactive\n" +
				"3!2!node2!!!!fd00::1!!!!!configured!!no!active\n"),
			func(c array.Client) (any, error) { return c.LsPortIP(ctx) },
			[]array.PortIP{
				{ID: "1", NodeID: "1", NodeName: "node1", IPAddress: "127.0.0.1", State: "online", LinkState: "active", HostPort: true},
				{ID: "1", NodeID: "1", NodeName: "node1", State: "online", HostPort: false},
				{ID: "2", NodeID: "1", NodeName: "node1", IPAddress: "127.0.0.2", State: "configured", LinkState: "inactive", HostPort: false},
				{ID: "3", NodeID: "2", NodeName: "node2", IPAddress6: "fd00::1", State: "configured", LinkState: "active", HostPort: true},
			}},
		{"lsportfc", "mcsinq lsportfc -delim !", arraytest.OK("id!fc_io_port_id!port_id!type!port_speed!node_id!node_name!WWPN!nportid!status!attachment\n0!1!1!fc!8Gb!1!node1!5005076802132ADE!012E00!active!switch\n"),
			func(c array.Client) (any, error) { return c.LsPortFC(ctx) },
			[]array.PortFC{{ID: "0", NodeID: "1", NodeName: "node1", WWPN: "5005076802132ADE", Status: "active", Type: "fc"}}},
		{"lsfabric by wwpn", "mcsinq lsfabric -delim ! -wwpn 1234567890ABCDEF", arraytest.OK("remote_wwpn!remote_nportid!id!node_name!local_wwpn!local_port!local_nportid!state!name!cluster_name!type\n1234567890ABCDEF!1!0!node1!5005076802132ADE!1!2!active!fc-n1!!host\n"),
			func(c array.Client) (any, error) { return c.LsFabric(ctx, "1234567890ABCDEF", "") },
			[]array.Fabric{{RemoteWWPN: "1234567890ABCDEF", LocalWWPN: "5005076802132ADE", NodeName: "node1", HostName: "fc-n1", State: "active"}}},
		{"lsfabric by host, empty", "mcsinq lsfabric -delim ! -host fc-n1", arraytest.OK(""),
			func(c array.Client) (any, error) { return c.LsFabric(ctx, "", "fc-n1") },
			[]array.Fabric(nil)},
		{"lsmdiskgrp detail", "mcsinq lsmdiskgrp -bytes -delim ! Pool0", arraytest.OK("id!0\nname!Pool0\nstatus!online\ncapacity!107374182400\nfree_capacity!96636764160\nvirtual_capacity!10737418240\nreal_capacity!10737418240\nin_tier!auto\n"),
			func(c array.Client) (any, error) { return c.LsMDiskGrp(ctx, "Pool0") },
			array.Pool{ID: "0", Name: "Pool0", Status: "online", Capacity: 107374182400, Free: 96636764160, Virtual: 10737418240, Real: 10737418240, InTier: "auto"}},
		{"lsmdiskgrp list", "mcsinq lsmdiskgrp -bytes -delim !", arraytest.OK("id!name!status!mdisk_count!vdisk_count!capacity!extent_size!free_capacity!virtual_capacity!used_capacity!real_capacity!overallocation!warning!in_tier!in_tier_status\n0!Pool0!online!1!1!100!256!90!10!10!10!10!80!on!inactive\n"),
			func(c array.Client) (any, error) { return c.LsMDiskGrps(ctx) },
			[]array.Pool{{ID: "0", Name: "Pool0", Status: "online", Capacity: 100, Free: 90, Virtual: 10, Real: 10, InTier: "on"}}},
		{"lsvdisk filtered", "mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=pvc-1", arraytest.OK(vdiskHeader + "\n" + vdiskRow + "\n"),
			func(c array.Client) (any, error) {
				return c.LsVDisks(ctx, &array.Filter{Attr: "volume_name", Value: "pvc-1"})
			},
			[]array.VDisk{{ID: "3", Name: "pvc-1", UID: "6005076000ABCDEF0000000000000003", IOGroupID: "0", IOGroupName: "io_grp0", Status: "online", PoolID: "0", PoolName: "Pool0", Capacity: 10737418240, CopyCount: 1, VolumeID: "3", VolumeName: "pvc-1"}}},
		{"lsvdisk all, none", "mcsinq lsvdisk -bytes -delim !", arraytest.OK(""),
			func(c array.Client) (any, error) { return c.LsVDisks(ctx, nil) }, []array.VDisk(nil)},
		{"lsvdisk detail with two copies", "mcsinq lsvdisk -bytes -delim ! pvc-1", arraytest.OK(
			"id!3\nname!pvc-1\nIO_group_id!0\nIO_group_name!io_grp0\nstatus!online\nmdisk_grp_id!many\nmdisk_grp_name!many\ncapacity!1073741824\nformatting!no\nvdisk_UID!600507600000000000000003\npreferred_node_id!2\nlc_map_count!1\ncopy_count!2\nvolume_id!3\nvolume_name!pvc-1\nfunction!\n" +
				"\ncopy_id!0\nstatus!online\nsync!yes\nprimary!yes\nmdisk_grp_id!0\nmdisk_grp_name!Pool0\nused_capacity!1073741824\nreal_capacity!1073741824\nfree_capacity!0\nin_tier!on\ncompressed_copy!no\nautoexpand!\nwarning!\ngrainsize!\nse_copy!no\n" +
				"\ncopy_id!1\nstatus!online\nsync!no\nprimary!no\nmdisk_grp_id!1\nmdisk_grp_name!Pool1\nused_capacity!0\nreal_capacity!21474836\nfree_capacity!21474836\nin_tier!off\ncompressed_copy!no\nautoexpand!on\nwarning!80\ngrainsize!256\nse_copy!yes\n"),
			func(c array.Client) (any, error) { return c.LsVDisk(ctx, "pvc-1") },
			array.VDiskDetail{
				VDisk:           array.VDisk{ID: "3", Name: "pvc-1", UID: "600507600000000000000003", IOGroupID: "0", IOGroupName: "io_grp0", Status: "online", PoolID: "many", PoolName: "many", Capacity: 1 << 30, LCMapCount: 1, CopyCount: 2, VolumeID: "3", VolumeName: "pvc-1"},
				PreferredNodeID: "2",
				Copies: []array.VDiskCopy{
					{CopyID: "0", Status: "online", Primary: true, Sync: true, PoolID: "0", PoolName: "Pool0", UsedCapacity: 1 << 30, RealCapacity: 1 << 30, InTier: "on"},
					{CopyID: "1", Status: "online", PoolID: "1", PoolName: "Pool1", RealCapacity: 21474836, FreeCapacity: 21474836, Thin: true, AutoExpand: true, Warning: 80, GrainSize: 256, InTier: "off"},
				}}},
		{"lsvdiskhostmap", "mcsinq lsvdiskhostmap -delim ! pvc-1", arraytest.OK("id!name!SCSI_id!host_id!host_name!vdisk_UID!IO_group_id!IO_group_name\n3!pvc-1!0!0!iscsi-n1!6005076000ABCDEF0000000000000003!0!io_grp0\n3!pvc-1!0!0!iscsi-n1!6005076000ABCDEF0000000000000003!1!io_grp1\n"),
			func(c array.Client) (any, error) { return c.LsVDiskHostMap(ctx, "pvc-1") },
			[]array.HostMap{
				{VDiskID: "3", VDiskName: "pvc-1", VDiskUID: "6005076000ABCDEF0000000000000003", SCSIID: 0, HostID: "0", HostName: "iscsi-n1", IOGroupID: "0", IOGroupName: "io_grp0"},
				{VDiskID: "3", VDiskName: "pvc-1", VDiskUID: "6005076000ABCDEF0000000000000003", SCSIID: 0, HostID: "0", HostName: "iscsi-n1", IOGroupID: "1", IOGroupName: "io_grp1"},
			}},
		{"lshostvdiskmap", "mcsinq lshostvdiskmap -delim ! iscsi-n1", arraytest.OK("id!name!SCSI_id!vdisk_id!vdisk_name!vdisk_UID!IO_group_id!IO_group_name\n0!iscsi-n1!4!3!pvc-1!6005!0!io_grp0\n"),
			func(c array.Client) (any, error) { return c.LsHostVDiskMap(ctx, "iscsi-n1") },
			[]array.HostMap{{HostID: "0", HostName: "iscsi-n1", SCSIID: 4, VDiskID: "3", VDiskName: "pvc-1", VDiskUID: "6005", IOGroupID: "0", IOGroupName: "io_grp0"}}},
		{"lshost list", "mcsinq lshost -delim !", arraytest.OK("id!name!port_count!iogrp_count!status!site_id!site_name\n0!iscsi-n1!1!4!online!!\n"),
			func(c array.Client) (any, error) { return c.LsHosts(ctx) },
			[]array.Host{{ID: "0", Name: "iscsi-n1", Status: "online"}}},
		{"lsiscsiauth", "mcsinq lsiscsiauth -delim !", arraytest.OK("type!id!name!iscsi_auth_method!iscsi_chap_secret\nhost!0!iscsi-n1!chap!abcDEF2345678xyz\nhost!1!iscsi-n2!none!\n"),
			func(c array.Client) (any, error) { return c.LsISCSIAuth(ctx) },
			[]array.ISCSIAuth{{Type: "host", ID: "0", Name: "iscsi-n1", Method: "chap", Secret: "abcDEF2345678xyz"}, {Type: "host", ID: "1", Name: "iscsi-n2", Method: "none"}}},
		{"lshost detail, repeated ports", "mcsinq lshost -delim ! 0", arraytest.OK("id!0\nname!h1\nport_count!3\ntype!generic\nmask!1111\niogrp_count!4\nstatus!online\nsite_id!\nsite_name!\niscsi_name!iqn.1994-05.com.redhat:a\nnode_logged_in_count!0\nstate!offline\niscsi_name!iqn.1994-05.com.redhat:b\nnode_logged_in_count!0\nstate!offline\nWWPN!1234567890ABCDEF\nnode_logged_in_count!0\nstate!inactive\n"),
			func(c array.Client) (any, error) { return c.LsHost(ctx, "0") },
			array.Host{ID: "0", Name: "h1", Status: "online", ISCSINames: []string{"iqn.1994-05.com.redhat:a", "iqn.1994-05.com.redhat:b"}, WWPNs: []string{"1234567890ABCDEF"}}},
		{"lslcmap filtered", "mcsinq lslcmap -delim ! -filtervalue target_vdisk_name=snapshot-9", arraytest.OK(lcmapHeader + "\n0!lcmap0!3!pvc-1!4!snapshot-9!!!copying!0!0!100!off!!!no!240611093015!no\n"),
			func(c array.Client) (any, error) {
				return c.LsLCMaps(ctx, &array.Filter{Attr: "target_vdisk_name", Value: "snapshot-9"})
			},
			[]array.LCMap{{ID: "0", Name: "lcmap0", SourceID: "3", SourceName: "pvc-1", TargetID: "4", TargetName: "snapshot-9", Status: "copying", StartTime: time.Date(2024, 6, 11, 9, 30, 15, 0, time.UTC)}}},
		{"lsrcrelationship", "mcsinq lsrcrelationship -delim ! -filtervalue name=rcrel3", arraytest.OK("id!name!master_cluster_id!master_cluster_name!master_vdisk_id!master_vdisk_name!aux_cluster_id!aux_cluster_name!aux_vdisk_id!aux_vdisk_name!consistency_group_id!primary!consistency_group_name!state!bg_copy_priority!progress!freeze_time!status!sync!copy_type\n3!rcrel3!0!mcs1!3!pvc-aa!0!mcs1!4!vdisk4!!master!!consistent_synchronized!50!!!online!!activeactive\n"),
			func(c array.Client) (any, error) {
				return c.LsRCRelationships(ctx, &array.Filter{Attr: "name", Value: "rcrel3"})
			},
			[]array.RCRelationship{{ID: "3", Name: "rcrel3", MasterName: "pvc-aa", AuxName: "vdisk4", State: "consistent_synchronized", CopyType: "activeactive"}}},

		// --- operations ---
		{"mkvdisk basic thick", "mcsop mkvdisk -name pvc-1 -size 10 -unit gb -mdiskgrp Pool0 -iogrp io_grp0 -intier off", created("Virtual Disk"),
			func(c array.Client) (any, error) {
				return c.MkVDisk(ctx, array.MkVDiskArgs{Name: "pvc-1", SizeBytes: 10 << 30, Pool: "Pool0", IOGroup: "io_grp0"})
			}, "7"},
		{"mkvdisk thin, bytes", "mcsop mkvdisk -name vol-001 -size 1073741825 -unit b -mdiskgrp Pool0 -iogrp 0 -rsize 20% -warning 80% -autoexpand -grainsize 256 -intier off", created("Virtual Disk"),
			func(c array.Client) (any, error) {
				return c.MkVDisk(ctx, array.MkVDiskArgs{Name: "vol-001", SizeBytes: 1<<30 + 1, Pool: "Pool0", IOGroup: "0", Thin: true, RSizePct: 20, WarningPct: 80, AutoExpand: true, GrainSize: 256})
			}, "7"},
		{"mkvdisk compressed default rsize", "mcsop mkvdisk -name v -size 1 -unit gb -mdiskgrp Pool0 -rsize 2% -compressed -intier on", created("Virtual Disk"),
			func(c array.Client) (any, error) {
				return c.MkVDisk(ctx, array.MkVDiskArgs{Name: "v", SizeBytes: 1 << 30, Pool: "Pool0", Compressed: true, GrainSize: 64, InTier: true})
			}, "7"},
		{"mkvdisk mirror", "mcsop mkvdisk -name vol-001 -size 10 -unit gb -copies 2 -mdiskgrp Pool0:Pool1 -accessiogrp 0 -iogrp 0 -intier off", created("Virtual Disk"),
			func(c array.Client) (any, error) {
				return c.MkVDisk(ctx, array.MkVDiskArgs{Name: "vol-001", SizeBytes: 10 << 30, Pool: "Pool0", AuxPool: "Pool1", IOGroup: "0", AccessIOGrp: "0"})
			}, "7"},
		{"mkvdisk snapshot target", "mcsop mkvdisk -name snapshot-9 -size 10 -unit gb -mdiskgrp 0 -iogrp io_grp0 -rsize 0% -autoexpand -intier on", created("Virtual Disk"),
			func(c array.Client) (any, error) {
				return c.MkVDisk(ctx, array.MkVDiskArgs{Name: "snapshot-9", SizeBytes: 10 << 30, Pool: "0", IOGroup: "io_grp0", Thin: true, ExplicitRSize: true, AutoExpand: true, InTier: true})
			}, "7"},
		{"mkvolume thick", "mcsop mkvolume -name vol-001 -size 10 -unit gb -pool Pool0:Pool1 -iogrp 0:1", created("Volume"),
			func(c array.Client) (any, error) {
				return c.MkVolume(ctx, array.MkVolumeArgs{Name: "vol-001", SizeBytes: 10 << 30, Pool: "Pool0", AuxPool: "Pool1", IOGroup: "0", AuxIOGroup: "1"})
			}, "7"},
		{"mkvolume thin", "mcsop mkvolume -name vol-001 -size 10 -unit gb -pool Pool0:Pool1 -iogrp 0:1 -buffersize 20% -warning 80% -thin -grainsize 256", created("Virtual Disk"),
			func(c array.Client) (any, error) {
				return c.MkVolume(ctx, array.MkVolumeArgs{Name: "vol-001", SizeBytes: 10 << 30, Pool: "Pool0", AuxPool: "Pool1", IOGroup: "0", AuxIOGroup: "1", Thin: true, BufferSizePct: 20, WarningPct: 80, AutoExpand: true, GrainSize: 256})
			}, "7"},
		{"mkvolume compressed noautoexpand", "mcsop mkvolume -name vol-001 -size 10 -unit gb -pool Pool0:Pool1 -iogrp 0:1 -buffersize 2% -noautoexpand -compressed", created("Volume"),
			func(c array.Client) (any, error) {
				return c.MkVolume(ctx, array.MkVolumeArgs{Name: "vol-001", SizeBytes: 10 << 30, Pool: "Pool0", AuxPool: "Pool1", IOGroup: "0", AuxIOGroup: "1", Compressed: true})
			}, "7"},
		{"rmvdisk force", "mcsop rmvdisk -force pvc-1", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.RmVDisk(ctx, "pvc-1", true) }, nil},
		{"rmvdisk", "mcsop rmvdisk pvc-1", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.RmVDisk(ctx, "pvc-1", false) }, nil},
		{"rmvolume", "mcsop rmvolume -removehostmappings -removercrelationships -removelcmaps -discardimage -cancelbackup vol-001", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.RmVolume(ctx, "vol-001") }, nil},
		{"expandvdisksize gb", "mcsop expandvdisksize -size 2 -unit gb pvc-1", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.ExpandVDiskSize(ctx, "pvc-1", 2<<30) }, nil},
		{"expandvdisksize bytes", "mcsop expandvdisksize -size 512 -unit b pvc-1", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.ExpandVDiskSize(ctx, "pvc-1", 512) }, nil},
		{"addvdiskaccess", "mcsop addvdiskaccess -iogrp io_grp1 vol-001", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.AddVDiskAccess(ctx, "vol-001", "io_grp1") }, nil},
		{"mkhost iscsi with site", "mcsop mkhost -force -iscsiname iqn.1994-05.com.redhat:n1 -name iscsi-k8s-n1 -site siteA", created("Host"),
			func(c array.Client) (any, error) {
				return c.MkHost(ctx, array.MkHostArgs{Name: "iscsi-k8s-n1", IQN: "iqn.1994-05.com.redhat:n1", Site: "siteA"})
			}, "7"},
		{"mkhost fc", "mcsop mkhost -force -hbawwpn 1234567890ABCDEF -name fc-n1", created("Host"),
			func(c array.Client) (any, error) {
				return c.MkHost(ctx, array.MkHostArgs{Name: "fc-n1", WWPN: "1234567890ABCDEF"})
			}, "7"},
		{"addhostport wwpn", "mcsop addhostport -force -hbawwpn 1234567890ABCDE0 fc-n1", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.AddHostPort(ctx, "fc-n1", "", "1234567890ABCDE0") }, nil},
		{"addhostport iqn", "mcsop addhostport -force -iscsiname iqn.1994-05.com.redhat:n2 h1", arraytest.OK(""),
			func(c array.Client) (any, error) {
				return nil, c.AddHostPort(ctx, "h1", "iqn.1994-05.com.redhat:n2", "")
			}, nil},
		{"chhost", "mcsop chhost -chapsecret abcDEF2345678xyz h1", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.ChHostCHAPSecret(ctx, "h1", "abcDEF2345678xyz") }, nil},
		{"rmhost", "mcsop rmhost h1", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.RmHost(ctx, "h1") }, nil},
		{"mkvdiskhostmap", "mcsop mkvdiskhostmap -force -host iscsi-k8s-n1 pvc-1", created("Virtual Disk to Host map"),
			func(c array.Client) (any, error) { return c.MkVDiskHostMap(ctx, "iscsi-k8s-n1", "pvc-1") }, "7"},
		{"rmvdiskhostmap", "mcsop rmvdiskhostmap -host iscsi-k8s-n1 pvc-1", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.RmVDiskHostMap(ctx, "iscsi-k8s-n1", "pvc-1") }, nil},
		{"mklcmap snapshot", "mcsop mklcmap -copyrate 0 -cleanrate 0 -source pvc-1 -target snapshot-9", created("LocalCopy Mapping"),
			func(c array.Client) (any, error) {
				return c.MkLCMap(ctx, array.MkLCMapArgs{Source: "pvc-1", Target: "snapshot-9"})
			}, "7"},
		{"mklcmap clone", "mcsop mklcmap -copyrate 100 -cleanrate 100 -source pvc-1 -target pvc-2 -autodelete", created("LocalCopy Mapping"),
			func(c array.Client) (any, error) {
				return c.MkLCMap(ctx, array.MkLCMapArgs{Source: "pvc-1", Target: "pvc-2", CopyRate: 100, CleanRate: 100, AutoDelete: true})
			}, "7"},
		{"startlcmap prep", "mcsop startlcmap -prep 0", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.StartLCMap(ctx, "0", true) }, nil},
		{"startlcmap", "mcsop startlcmap 0", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.StartLCMap(ctx, "0", false) }, nil},
		{"stoplcmap force", "mcsop stoplcmap -force 12", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.StopLCMap(ctx, "12", true) }, nil},
		{"rmlcmap force", "mcsop rmlcmap -force 12", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.RmLCMap(ctx, "12", true) }, nil},
		{"mkrcrelationship aa", "mcsop mkrcrelationship -master vol-001 -aux vdisk8 -cluster mcs1 -sync -activeactive", created("RC Relationship"),
			func(c array.Client) (any, error) {
				return c.MkRCRelationship(ctx, array.MkRCRelationshipArgs{Master: "vol-001", Aux: "vdisk8", Cluster: "mcs1", Sync: true, ActiveActive: true})
			}, "7"},
		{"rmrcrelationship", "mcsop rmrcrelationship 7", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.RmRCRelationship(ctx, "7") }, nil},
		{"chrcrelationship master", "mcsop chrcrelationship -masterchange vdisk9 7", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.ChRCRelationship(ctx, "7", "vdisk9", "") }, nil},
		{"chrcrelationship aux", "mcsop chrcrelationship -auxchange vdisk10 7", arraytest.OK(""),
			func(c array.Client) (any, error) { return nil, c.ChRCRelationship(ctx, "7", "", "vdisk10") }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, s := newCLI(t)
			s.On(tc.cmd, tc.resp)
			got, err := tc.call(c)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if calls := s.Calls(); len(calls) != 1 || calls[0] != tc.cmd {
				t.Fatalf("sent %q, want exactly %q", calls, tc.cmd)
			}
			if tc.want == nil {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parsed\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

// Hostile values are refused before anything reaches the transport.
func TestInjection_RejectedBeforeSend(t *testing.T) {
	ctx := context.Background()
	bad := []string{
		"pvc;rmvdisk -force x", "pvc$(reboot)", "pvc`id`", `pvc"x`, "pvc'x", "pvc x", "pvc\nrmhost h",
		"pvc|cat", "pvc&", "pvc<x", "pvc>x", "pvc!x", "pvc\\x", "-force", "a\tb", "pvc\x00", "pvc*", "pvc?", "pvc#",
		"pvc\r", "pvc{a,b}", "pvc(x)", "ünicode",
	}
	calls := map[string]func(c array.Client, v string) error{
		"LsVDisk": func(c array.Client, v string) error { _, err := c.LsVDisk(ctx, v); return err },
		"LsVDisks": func(c array.Client, v string) error {
			_, err := c.LsVDisks(ctx, &array.Filter{Attr: "volume_name", Value: v})
			return err
		},
		"LsVDisks attr": func(c array.Client, v string) error {
			_, err := c.LsVDisks(ctx, &array.Filter{Attr: v, Value: "x"})
			return err
		},
		"LsMDiskGrp":     func(c array.Client, v string) error { _, err := c.LsMDiskGrp(ctx, v); return err },
		"LsHost":         func(c array.Client, v string) error { _, err := c.LsHost(ctx, v); return err },
		"LsFabric host":  func(c array.Client, v string) error { _, err := c.LsFabric(ctx, "", v); return err },
		"LsFabric wwpn":  func(c array.Client, v string) error { _, err := c.LsFabric(ctx, v, ""); return err },
		"LsVDiskHostMap": func(c array.Client, v string) error { _, err := c.LsVDiskHostMap(ctx, v); return err },
		"LsHostVDiskMap": func(c array.Client, v string) error { _, err := c.LsHostVDiskMap(ctx, v); return err },
		"LsLCMaps": func(c array.Client, v string) error {
			_, err := c.LsLCMaps(ctx, &array.Filter{Attr: "id", Value: v})
			return err
		},
		"LsRCRelationships": func(c array.Client, v string) error {
			_, err := c.LsRCRelationships(ctx, &array.Filter{Attr: "name", Value: v})
			return err
		},
		"MkVDisk name": func(c array.Client, v string) error {
			_, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: v, SizeBytes: 1 << 30, Pool: "Pool0"})
			return err
		},
		"MkVDisk pool": func(c array.Client, v string) error {
			_, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: "ok", SizeBytes: 1 << 30, Pool: v})
			return err
		},
		"MkVDisk iogrp": func(c array.Client, v string) error {
			_, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: "ok", SizeBytes: 1 << 30, Pool: "P", IOGroup: v})
			return err
		},
		"MkVolume": func(c array.Client, v string) error {
			_, err := c.MkVolume(ctx, array.MkVolumeArgs{Name: "ok", SizeBytes: 1 << 30, Pool: "P", AuxPool: v, IOGroup: "0", AuxIOGroup: "1"})
			return err
		},
		"RmVDisk":         func(c array.Client, v string) error { return c.RmVDisk(ctx, v, true) },
		"RmVolume":        func(c array.Client, v string) error { return c.RmVolume(ctx, v) },
		"ExpandVDiskSize": func(c array.Client, v string) error { return c.ExpandVDiskSize(ctx, v, 1<<30) },
		"AddVDiskAccess":  func(c array.Client, v string) error { return c.AddVDiskAccess(ctx, "ok", v) },
		"MkHost name": func(c array.Client, v string) error {
			_, err := c.MkHost(ctx, array.MkHostArgs{Name: v, IQN: "iqn.1994-05.com.redhat:n1"})
			return err
		},
		"MkHost iqn": func(c array.Client, v string) error {
			_, err := c.MkHost(ctx, array.MkHostArgs{Name: "h", IQN: v})
			return err
		},
		"MkHost site": func(c array.Client, v string) error {
			_, err := c.MkHost(ctx, array.MkHostArgs{Name: "h", WWPN: "1234567890ABCDEF", Site: v})
			return err
		},
		"AddHostPort":      func(c array.Client, v string) error { return c.AddHostPort(ctx, v, "iqn.1994-05.com.redhat:n1", "") },
		"ChHostCHAPSecret": func(c array.Client, v string) error { return c.ChHostCHAPSecret(ctx, "h", v) },
		"RmHost":           func(c array.Client, v string) error { return c.RmHost(ctx, v) },
		"MkVDiskHostMap":   func(c array.Client, v string) error { _, err := c.MkVDiskHostMap(ctx, "h", v); return err },
		"RmVDiskHostMap":   func(c array.Client, v string) error { return c.RmVDiskHostMap(ctx, v, "vd") },
		"MkLCMap": func(c array.Client, v string) error {
			_, err := c.MkLCMap(ctx, array.MkLCMapArgs{Source: "a", Target: v})
			return err
		},
		"StartLCMap": func(c array.Client, v string) error { return c.StartLCMap(ctx, v, true) },
		"StopLCMap":  func(c array.Client, v string) error { return c.StopLCMap(ctx, v, true) },
		"RmLCMap":    func(c array.Client, v string) error { return c.RmLCMap(ctx, v, true) },
		"MkRCRelationship": func(c array.Client, v string) error {
			_, err := c.MkRCRelationship(ctx, array.MkRCRelationshipArgs{Master: "m", Aux: "a", Cluster: v})
			return err
		},
		"RmRCRelationship": func(c array.Client, v string) error { return c.RmRCRelationship(ctx, v) },
		"ChRCRelationship": func(c array.Client, v string) error { return c.ChRCRelationship(ctx, "7", v, "") },
	}
	for name, call := range calls {
		for _, v := range bad {
			c, s := newCLI(t)
			err := call(c, v)
			if !array.IsInvalidArgument(err) {
				t.Errorf("%s(%q): err = %v, want invalid argument", name, v, err)
			}
			if got := s.Calls(); len(got) != 0 {
				t.Errorf("%s(%q): transport saw %q, want nothing", name, v, got)
			}
		}
	}
	// Names longer than 63 characters are refused too (§3.5).
	c, s := newCLI(t)
	if _, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: strings.Repeat("a", 64), SizeBytes: 1 << 30, Pool: "P"}); !array.IsInvalidArgument(err) {
		t.Errorf("64-char name: err = %v", err)
	}
	if _, err := c.MkHost(ctx, array.MkHostArgs{Name: "", IQN: "iqn.1994-05.com.redhat:n1"}); !array.IsInvalidArgument(err) {
		t.Errorf("empty name: err = %v", err)
	}
	if len(s.Calls()) != 0 {
		t.Errorf("transport saw %q", s.Calls())
	}
}

func TestArgumentRules_RejectedBeforeSend(t *testing.T) {
	ctx := context.Background()
	cases := map[string]func(c array.Client) error{
		"zero size": func(c array.Client) error {
			_, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: "v", Pool: "P"})
			return err
		},
		"rsize 101": func(c array.Client) error {
			_, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: "v", SizeBytes: 1, Pool: "P", Thin: true, RSizePct: 101})
			return err
		},
		"warning 100": func(c array.Client) error {
			_, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: "v", SizeBytes: 1, Pool: "P", Thin: true, WarningPct: 100})
			return err
		},
		"grain 100": func(c array.Client) error {
			_, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: "v", SizeBytes: 1, Pool: "P", Thin: true, GrainSize: 100})
			return err
		},
		"thick with warning": func(c array.Client) error {
			_, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: "v", SizeBytes: 1, Pool: "P", WarningPct: 80})
			return err
		},
		"volume not GiB": func(c array.Client) error {
			_, err := c.MkVolume(ctx, array.MkVolumeArgs{Name: "v", SizeBytes: 1<<30 + 1, Pool: "P", AuxPool: "Q", IOGroup: "0", AuxIOGroup: "1"})
			return err
		},
		"volume without aux iogrp": func(c array.Client) error {
			_, err := c.MkVolume(ctx, array.MkVolumeArgs{Name: "v", SizeBytes: 1 << 30, Pool: "P", AuxPool: "Q", IOGroup: "0"})
			return err
		},
		"host with iqn and wwpn": func(c array.Client) error {
			_, err := c.MkHost(ctx, array.MkHostArgs{Name: "h", IQN: "iqn.1994-05.com.redhat:n1", WWPN: "1234567890ABCDEF"})
			return err
		},
		"host without port": func(c array.Client) error { _, err := c.MkHost(ctx, array.MkHostArgs{Name: "h"}); return err },
		"wwpn with colons":  func(c array.Client) error { return c.AddHostPort(ctx, "h", "", "12:34:56:78:90:AB:CD:EF") },
		"lsfabric both":     func(c array.Client) error { _, err := c.LsFabric(ctx, "1234567890ABCDEF", "h"); return err },
		"lsfabric none":     func(c array.Client) error { _, err := c.LsFabric(ctx, "", ""); return err },
		"lcmap by name":     func(c array.Client) error { return c.StartLCMap(ctx, "lcmap0", true) },
		"copyrate 101": func(c array.Client) error {
			_, err := c.MkLCMap(ctx, array.MkLCMapArgs{Source: "a", Target: "b", CopyRate: 101})
			return err
		},
		"chrc both":       func(c array.Client) error { return c.ChRCRelationship(ctx, "7", "a", "b") },
		"expand negative": func(c array.Client) error { return c.ExpandVDiskSize(ctx, "v", -1) },
		"name starting digit": func(c array.Client) error {
			_, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: "1vol", SizeBytes: 1, Pool: "P"})
			return err
		},
	}
	for name, call := range cases {
		c, s := newCLI(t)
		if err := call(c); !array.IsInvalidArgument(err) {
			t.Errorf("%s: err = %v, want invalid argument", name, err)
		}
		if got := s.Calls(); len(got) != 0 {
			t.Errorf("%s: transport saw %q", name, got)
		}
	}
}

func TestResultHandling(t *testing.T) {
	ctx := context.Background()
	t.Run("CMMVC on stderr becomes CLIError", func(t *testing.T) {
		c, s := newCLI(t)
		s.On("mcsinq lsvdisk -bytes -delim ! nope", arraytest.Fail("CMMVC5754E", "The specified object does not exist, or the name supplied does not meet the naming rules."))
		_, err := c.LsVDisk(ctx, "nope")
		var ce *array.CLIError
		if !errors.As(err, &ce) || ce.Code != "CMMVC5754E" || !strings.HasPrefix(ce.Message, "The specified object") || ce.Command != "mcsinq lsvdisk -bytes -delim ! nope" {
			t.Fatalf("err = %#v", err)
		}
		if !array.IsNotFound(err) || array.IsAlreadyExists(err) || array.IsTransport(err) {
			t.Errorf("helpers misclassify %v", err)
		}
	})
	t.Run("no-output op with stdout is an error", func(t *testing.T) {
		c, s := newCLI(t)
		s.On("mcsop rmhost h1", arraytest.OK("\n"))
		if err := c.RmHost(ctx, "h1"); !errors.Is(err, array.ErrUnexpectedOutput) {
			t.Fatalf("err = %v, want ErrUnexpectedOutput", err)
		}
	})
	t.Run("stderr without code on exit 0 is an error", func(t *testing.T) {
		c, s := newCLI(t)
		s.On("mcsop rmhost h1", arraytest.Response{Stderr: "warning: something\n"})
		err := c.RmHost(ctx, "h1")
		var ce *array.CLIError
		if !errors.As(err, &ce) || ce.Code != "" || ce.Message != "warning: something" {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("non-zero exit without text is an error", func(t *testing.T) {
		c, s := newCLI(t)
		s.On("mcsop rmhost h1", arraytest.Response{Exit: 2})
		if err := c.RmHost(ctx, "h1"); err == nil || !strings.Contains(err.Error(), "exit status 2") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("create without id", func(t *testing.T) {
		c, s := newCLI(t)
		s.On("mcsop rmhost h1", arraytest.OK(""))
		s.On("mcsop mkvdiskhostmap -force -host h1 v", arraytest.OK("done\n"))
		if _, err := c.MkVDiskHostMap(ctx, "h1", "v"); !errors.Is(err, array.ErrUnexpectedOutput) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("transport error keeps ErrTransport", func(t *testing.T) {
		c, s := newCLI(t)
		s.On("mcsinq lssystem -delim !", arraytest.Response{Err: errors.New("connection reset")})
		_, err := c.LsSystem(ctx)
		if !array.IsTransport(err) || !strings.Contains(err.Error(), "connection reset") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("query retried once after a transport error, op never", func(t *testing.T) {
		flaky := &flakyTransport{fail: 1, out: "id!1\nname!x\n"}
		c := array.NewCLI(flaky)
		if _, err := c.LsSystem(ctx); err != nil || flaky.calls != 2 {
			t.Fatalf("query: err %v after %d calls", err, flaky.calls)
		}
		flaky = &flakyTransport{fail: 2}
		c = array.NewCLI(flaky)
		if _, err := c.LsSystem(ctx); !array.IsTransport(err) || flaky.calls != 2 {
			t.Fatalf("query failing twice: err %v after %d calls", err, flaky.calls)
		}
		flaky = &flakyTransport{fail: 1}
		c = array.NewCLI(flaky)
		if err := c.RmHost(ctx, "h1"); !array.IsTransport(err) || flaky.calls != 1 {
			t.Fatalf("op: err %v after %d calls, want exactly one attempt", err, flaky.calls)
		}
	})
	t.Run("chap secret never in errors", func(t *testing.T) {
		c, s := newCLI(t)
		s.On("mcsop chhost -chapsecret s3cretS3cret h1", arraytest.Fail("CMMVC5753E", "The specified object does not exist or is not a suitable candidate."))
		err := c.ChHostCHAPSecret(ctx, "h1", "s3cretS3cret")
		if !array.IsNotFound(err) || strings.Contains(err.Error(), "s3cretS3cret") || !strings.Contains(err.Error(), "<redacted>") {
			t.Fatalf("err = %v", err)
		}
		if err := c.ChHostCHAPSecret(ctx, "h1", "bad secret"); err == nil || strings.Contains(err.Error(), "bad secret") {
			t.Fatalf("invalid secret echoed: %v", err)
		}
	})
	t.Run("bad integer column", func(t *testing.T) {
		c, s := newCLI(t)
		s.On("mcsinq lsvdisk -bytes -delim !", arraytest.OK("id!name!capacity\n1!v!1.00GB\n"))
		if _, err := c.LsVDisks(ctx, nil); !errors.Is(err, array.ErrUnexpectedOutput) || !strings.Contains(err.Error(), "capacity") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("deadline applied when ctx has none", func(t *testing.T) {
		var saw bool
		c := array.NewCLI(deadlineProbe{&saw}, array.WithCommandTimeout(time.Second))
		_, _ = c.LsSystem(ctx)
		if !saw {
			t.Fatal("transport ctx had no deadline")
		}
	})
}

type deadlineProbe struct{ saw *bool }

func (d deadlineProbe) Run(ctx context.Context, _ []string) ([]byte, []byte, error) {
	_, *d.saw = ctx.Deadline()
	return []byte("id!1\nname!x\n"), nil, nil
}

func TestErrorHelpers(t *testing.T) {
	mk := func(code string) error { return &array.CLIError{Code: code, Command: "x"} }
	for _, tc := range []struct {
		code string
		is   func(error) bool
	}{
		{"CMMVC5753E", array.IsNotFound}, {"CMMVC5754E", array.IsNotFound},
		{"CMMVC6035E", array.IsAlreadyExists}, {"CMMVC5959E", array.IsAlreadyExists},
		{"CMMVC5840E", array.IsInUse}, {"CMMVC5871E", array.IsInUse}, {"CMMVC6071E", array.IsInUse},
		{"CMMVC5903E", array.IsInvalidState}, {"CMMVC5982E", array.IsInvalidState},
		{"CMMVC5924E", array.IsSizeMismatch}, {"CMMVC6581E", array.IsPortInUse},
		{"CMMVC5860E", array.IsNoSpace}, {"CMMVC6372W", array.IsNoSpace}, {"CMMVC6372W", array.IsWarning},
		{"CMMVC5878E", array.IsAlreadyMappedToHost},
	} {
		wrapped := errors.Join(errors.New("ctx"), mk(tc.code))
		if !tc.is(mk(tc.code)) || !tc.is(wrapped) {
			t.Errorf("%s not recognised", tc.code)
		}
		if tc.is(mk("CMMVC9999E")) || tc.is(errors.New(tc.code)) {
			t.Errorf("helper for %s too broad", tc.code)
		}
	}
	if array.ErrorCode(nil) != "" || array.IsNotFound(nil) {
		t.Error("nil error classified")
	}
}

type flakyTransport struct {
	fail, calls int
	out         string
}

func (f *flakyTransport) Run(context.Context, []string) ([]byte, []byte, error) {
	f.calls++
	if f.calls <= f.fail {
		return nil, nil, fmt.Errorf("%w: connection lost", array.ErrTransport)
	}
	return []byte(f.out), nil, nil
}

// §1.3: every no-output operation fails if the array prints anything,
// even a lone newline, on stdout or stderr.
func TestNoOutputOps_AnyOutputIsAnError(t *testing.T) {
	ctx := context.Background()
	ops := map[string]func(c array.Client) error{
		"mcsop rmvdisk -force v": func(c array.Client) error { return c.RmVDisk(ctx, "v", true) },
		"mcsop rmvolume -removehostmappings -removercrelationships -removelcmaps -discardimage -cancelbackup v": func(c array.Client) error { return c.RmVolume(ctx, "v") },
		"mcsop expandvdisksize -size 1 -unit gb v":                                                              func(c array.Client) error { return c.ExpandVDiskSize(ctx, "v", 1<<30) },
		"mcsop addvdiskaccess -iogrp io_grp1 v":                                                                 func(c array.Client) error { return c.AddVDiskAccess(ctx, "v", "io_grp1") },
		"mcsop addhostport -force -hbawwpn 1234567890ABCDEF h":                                                  func(c array.Client) error { return c.AddHostPort(ctx, "h", "", "1234567890ABCDEF") },
		"mcsop chhost -chapsecret abcdefghijkl h":                                                               func(c array.Client) error { return c.ChHostCHAPSecret(ctx, "h", "abcdefghijkl") },
		"mcsop rmhost h":                            func(c array.Client) error { return c.RmHost(ctx, "h") },
		"mcsop rmvdiskhostmap -host h v":            func(c array.Client) error { return c.RmVDiskHostMap(ctx, "h", "v") },
		"mcsop startlcmap -prep 1":                  func(c array.Client) error { return c.StartLCMap(ctx, "1", true) },
		"mcsop stoplcmap -force 1":                  func(c array.Client) error { return c.StopLCMap(ctx, "1", true) },
		"mcsop rmlcmap -force 1":                    func(c array.Client) error { return c.RmLCMap(ctx, "1", true) },
		"mcsop rmrcrelationship 1":                  func(c array.Client) error { return c.RmRCRelationship(ctx, "1") },
		"mcsop chrcrelationship -masterchange cv 1": func(c array.Client) error { return c.ChRCRelationship(ctx, "1", "cv", "") },
	}
	for cmd, call := range ops {
		for _, resp := range []arraytest.Response{{Stdout: "\n"}, {Stdout: "ok"}, {Stderr: "\n"}} {
			c, s := newCLI(t)
			s.On(cmd, resp)
			if err := call(c); err == nil {
				t.Errorf("%s with %+v: no error", cmd, resp)
			}
			if got := s.Calls(); len(got) != 1 || got[0] != cmd {
				t.Errorf("sent %q, want %q", got, cmd)
			}
		}
	}
}
