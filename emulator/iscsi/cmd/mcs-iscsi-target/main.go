// Command mcs-iscsi-target serves one file as a LUN through the emulator's
// iSCSI target, to every initiator, on two node portals. It exists to run
// libiscsi conformance and perf tools against the target without the array
// model; mcs-emulator serves the model's vdisks the same way.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/iscsi"
	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

func main() {
	var (
		file      = flag.String("file", "", "backing file (created sparse at -size if missing)")
		size      = flag.Uint64("size", 1<<30, "size in bytes when creating -file")
		lun       = flag.Uint64("lun", 1, "SCSI LUN")
		uid       = flag.String("uid", "600507600000000000000000000000A1", "vdisk_UID (32 hex, NAA-6)")
		thin      = flag.Bool("thin", true, "thin-provisioned (LBPME, UNMAP)")
		cluster   = flag.String("cluster", "cluster0", "cluster name in the target IQNs")
		portals   = flag.String("portals", "127.0.0.1,127.0.0.2", "node1,node2 portal IPs")
		port      = flag.Int("port", iscsi.DefaultPort, "portal TCP port")
		advertise = flag.String("advertise", "", "listen=advertised pairs, comma separated (e.g. 127.0.0.1:3260=10.0.2.100:3260)")
		product   = flag.String("product", "MCS", "INQUIRY product id")
		chapFile  = flag.String("chap-secret-file", "", "file holding a CHAP secret every initiator must use")
	)
	klog.InitFlags(nil)
	flag.Parse()
	secret := ""
	if *chapFile != "" {
		b, err := os.ReadFile(*chapFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mcs-iscsi-target:", err)
			os.Exit(1)
		}
		secret = strings.TrimSpace(string(b))
	}
	if err := run(*file, *size, *lun, *uid, *thin, *cluster, *portals, *port, *advertise, *product, secret); err != nil {
		fmt.Fprintln(os.Stderr, "mcs-iscsi-target:", err)
		os.Exit(1)
	}
}

func run(file string, size, lun uint64, uid string, thin bool, cluster, portals string, port int, advertise, product, secret string) error {
	if file == "" {
		return fmt.Errorf("-file is required")
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil && st.Size() == 0 {
		err = f.Truncate(int64(size))
	}
	f.Close()
	if err != nil {
		return err
	}
	if st.Size() > 0 {
		size = uint64(st.Size())
	}
	var nodes []iscsi.Node
	for i, ip := range strings.Split(portals, ",") {
		name := fmt.Sprintf("node%d", i+1)
		nodes = append(nodes, iscsi.Node{ID: i + 1, Name: name,
			IQN: fmt.Sprintf("iqn.2004-12.com.inspur:mcs.%s.%s", cluster, name), Portals: []string{ip}})
	}
	b := iscsi.NewStaticBackend(nodes)
	partner := 0
	if len(nodes) > 1 {
		partner = 2
	}
	b.Map(iscsi.AnyInitiator, scsi.LUNInfo{LUN: lun, VdiskID: 0, Name: "vdisk0", UID: strings.ToUpper(uid),
		CapacityBytes: size, Path: file, Thin: thin, PreferredNode: 1, PartnerNode: partner})
	b.SetCHAPSecret(iscsi.AnyInitiator, secret)
	adv := map[string]string{}
	for _, pair := range strings.Split(advertise, ",") {
		if k, v, ok := strings.Cut(pair, "="); ok {
			adv[k] = v
		}
	}
	srv := iscsi.NewServer(iscsi.Config{Port: port, Advertise: adv, Identity: scsi.Identity{Product: product}}, b)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.ListenAndServe(ctx)
}
