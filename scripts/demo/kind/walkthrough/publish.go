package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// iscsiTransport exists when the kernel has the iSCSI initiator (iscsi_tcp).
const iscsiTransport = "/sys/class/iscsi_transport/tcp"

// publish schedules a pod on demo-data. The attach/detach controller makes a
// VolumeAttachment and csi-attacher turns it into ControllerPublishVolume
// (host object from the node's IQN, host mapping on the array). Logging in
// and mounting is the node's part, which needs a kernel iSCSI initiator.
func (d *demo) publish(pv string) error {
	d.narrate("publish: pod demo-app mounts demo-data → VolumeAttachment → ControllerPublishVolume (host + host mapping on the array)")
	if err := d.apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: demo-app
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: %s
      imagePullPolicy: Never
      command: [sleep, "3600"]
      volumeMounts:
        - name: data
          mountPath: /data
  volumes:
    - name: data
      persistentVolumeClaim:
        claimName: demo-data
`, d.o.image)); err != nil {
		return err
	}
	fmt.Println("   kubectl apply: Pod demo-app (busybox, /data on claim demo-data)")
	var va string
	if err := d.poll("the VolumeAttachment of "+pv+" to be attached", func() (bool, error) {
		var err error
		if va, err = d.attachmentOf(pv); err != nil || va == "" {
			return false, err
		}
		out, err := d.kubectl(time.Minute, "", "get", "volumeattachment", va, "-o", "jsonpath={.status.attached}")
		return out == "true", err
	}); err != nil {
		d.explainPod(45 * time.Second)
		return err
	}
	if err := d.show("get", "volumeattachment", va, "-o",
		"custom-columns=VOLUMEATTACHMENT:.metadata.name,PV:.spec.source.persistentVolumeName,NODE:.spec.nodeName,ATTACHED:.status.attached"); err != nil {
		return err
	}
	meta, err := d.kubectl(time.Minute, "", "get", "volumeattachment", va, "-o", "jsonpath={.status.attachmentMetadata}")
	if err != nil {
		return err
	}
	fmt.Printf("   publish context (status.attachmentMetadata): %s\n", meta)
	if err := d.observe("mcsinq lsvdiskhostmap -delim ! " + pv); err != nil {
		return err
	}
	return d.datapath()
}

// datapath writes and reads a file through the mounted volume when this host
// can log in to iSCSI targets, and otherwise says plainly why it stops here.
func (d *demo) datapath() error {
	_, statErr := os.Stat(iscsiTransport)
	initiator := statErr == nil
	run := d.o.datapath == "on" || (d.o.datapath == "auto" && initiator)
	if !run {
		why := "-datapath=off"
		if d.o.datapath == "auto" {
			why = "this host's kernel has no iSCSI initiator (no " + iscsiTransport + ")"
		}
		fmt.Printf("   node side skipped: %s, so the kind node cannot log in to the array's\n", why)
		fmt.Println("   iSCSI target and demo-app stays ContainerCreating. The controller side above is complete:")
		fmt.Println("   the VolumeAttachment is attached and the array maps the vdisk to the node's host object.")
		fmt.Println("   (make e2e in a VM with an initiator covers the node side: login, mkfs, mount, I/O.)")
		// No wait for the node's FailedMount event: its login attempt only gives up after hostCommandTimeout.
		d.explainPod(0)
		return nil
	}
	fmt.Println("   node side: waiting for demo-app to start (iSCSI login, mkfs.ext4, mount)")
	if err := d.wait("pod/demo-app", "{.status.phase}=Running", true); err != nil {
		d.explainPod(45 * time.Second)
		if d.o.datapath == "on" {
			return err
		}
		fmt.Printf("   node side did not come up (%v); continuing with the controller side only\n", err)
		return nil
	}
	line := fmt.Sprintf("written through iSCSI by make demo-kind at %s", time.Now().UTC().Format(time.RFC3339))
	if _, err := d.kubectl(time.Minute, line+"\n", "-n", d.o.namespace, "exec", "-i", "demo-app", "--", "tee", "/data/demo.txt"); err != nil {
		return err
	}
	if _, err := d.k("exec", "demo-app", "--", "sync"); err != nil {
		return err
	}
	got, err := d.k("exec", "demo-app", "--", "cat", "/data/demo.txt")
	if err != nil {
		return err
	}
	if strings.TrimSpace(got) != line {
		return fmt.Errorf("read back %q, wrote %q", strings.TrimSpace(got), line)
	}
	fmt.Printf("   wrote and read back /data/demo.txt: %q\n", line)
	return d.show("-n", d.o.namespace, "exec", "demo-app", "--", "df", "-h", "/data")
}

// explainPod prints the pod's phase and its latest mount event, if one
// arrives within wait: the node plugin's own words on what failed.
func (d *demo) explainPod(wait time.Duration) {
	deadline := time.Now().Add(wait)
	for {
		out, err := d.k("get", "events", "--field-selector", "involvedObject.kind=Pod,involvedObject.name=demo-app",
			"-o", `jsonpath={range .items[*]}{.reason}{"\t"}{.message}{"\n"}{end}`)
		var last string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.HasPrefix(l, "FailedMount") || strings.HasPrefix(l, "FailedAttachVolume") {
				last = l
			}
		}
		if last != "" || err != nil || time.Now().After(deadline) {
			if last != "" {
				if len(last) > 400 {
					last = last[:400] + "…"
				}
				fmt.Printf("   latest pod event: %s\n", strings.ReplaceAll(last, "\t", ": "))
			}
			break
		}
		time.Sleep(2 * time.Second)
	}
	_ = d.show("-n", d.o.namespace, "get", "pod", "demo-app", "-o", "wide")
}
