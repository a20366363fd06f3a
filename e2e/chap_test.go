package e2e

import (
	"crypto/rand"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The CHAP flow end to end: a class names one Secret as controller-publish and
// node-stage secret; ControllerPublishVolume sets it on the node's array host
// object before mapping, and the node logs in with CHAP as its IQN. The target
// (the emulator, like the array) then refuses any login without it, so data
// flowing proves the login; the spec also reads both ends directly.
var _ = Describe("iSCSI CHAP", Label("datapath"), func() {
	It("sets the class's CHAP secret on the node's host object and logs in with it", func(ctx SpecContext) {
		if _, err := kube.cs.RbacV1().Roles(opts.driverNamespace).Get(ctx, "csi-instorage-chap-secret", metav1.GetOptions{}); apierrors.IsNotFound(err) {
			Skip("the chap component (deploy/kubernetes/components/chap) is not deployed")
		}
		secret := rand.Text()[:16] // base32: A-Z 2-7, a valid array CHAP secret
		ns := opts.driverNamespace
		Expect(kube.cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: opts.chapSecret},
			StringData: map[string]string{"chapSecret": secret},
		}, metav1.CreateOptions{})).Error().NotTo(HaveOccurred())
		basic, err := kube.cs.StorageV1().StorageClasses().Get(ctx, opts.classBasic, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		params := map[string]string{
			"csi.storage.k8s.io/controller-publish-secret-name":      opts.chapSecret,
			"csi.storage.k8s.io/controller-publish-secret-namespace": ns,
			"csi.storage.k8s.io/node-stage-secret-name":              opts.chapSecret,
			"csi.storage.k8s.io/node-stage-secret-namespace":         ns,
		}
		for k, v := range basic.Parameters {
			params[k] = v
		}
		class, err := kube.cs.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
			ObjectMeta:           metav1.ObjectMeta{GenerateName: "csi-instorage-chap-"},
			Provisioner:          basic.Provisioner,
			Parameters:           params,
			ReclaimPolicy:        basic.ReclaimPolicy,
			AllowVolumeExpansion: basic.AllowVolumeExpansion,
			VolumeBindingMode:    basic.VolumeBindingMode,
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		// Registered before newSpecEnv, so they run after its teardown (LIFO):
		// the claims are gone before their class and Secret are.
		DeferCleanup(func(ctx SpecContext) {
			Expect(kube.cs.StorageV1().StorageClasses().Delete(ctx, class.Name, metav1.DeleteOptions{})).To(Succeed())
			Expect(kube.cs.CoreV1().Secrets(ns).Delete(ctx, opts.chapSecret, metav1.DeleteOptions{})).To(Succeed())
		})

		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: class.Name, size: "1Gi"})
		_, pv := kube.waitBound(ctx, e.ns, "vol")
		pod := kube.runPod(ctx, e.ns, "app", "", volume{claim: "vol"})
		sum := kube.writeData(ctx, e.ns, "app", false, "f")
		Expect(kube.readData(ctx, e.ns, "app", false, "f")).To(Equal(sum))

		var va *storagev1.VolumeAttachment
		vas, err := kube.cs.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		for i := range vas.Items {
			if ptr.Deref(vas.Items[i].Spec.Source.PersistentVolumeName, "") == pv.Name {
				va = &vas.Items[i]
			}
		}
		Expect(va).NotTo(BeNil(), "no VolumeAttachment for %s", pv.Name)
		for k, v := range va.Status.AttachmentMetadata {
			Expect(v).NotTo(ContainSubstring(secret), "publish context key %s carries the secret", k)
		}

		if len(arrays) > 0 {
			a := arrayNamed(arrays, "storage-01")
			vd, ok := findVDisk(ctx, a, pv.Name, pv.Spec.CSI.VolumeHandle)
			Expect(ok).To(BeTrue(), "vdisk of %s", pv.Name)
			maps, err := a.client.LsVDiskHostMap(ctx, vd.Name)
			Expect(err).NotTo(HaveOccurred())
			Expect(maps).NotTo(BeEmpty())
			auth, err := a.client.LsISCSIAuth(ctx)
			Expect(err).NotTo(HaveOccurred())
			found := false
			for _, r := range auth {
				if r.Name == maps[0].HostName {
					found = true
					Expect(r.Method).To(Equal("chap"), "host %s", r.Name)
					Expect(r.Secret == secret).To(BeTrue(), "host %s has another CHAP secret", r.Name)
				}
			}
			Expect(found).To(BeTrue(), "no lsiscsiauth row for host %s", maps[0].HostName)
		}

		// The node's sessions to the volume's targets were opened with CHAP as the node's IQN
		// (the session's sysfs username is what the login used).
		csiNode, err := kube.cs.StorageV1().CSINodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		var iqn string
		for _, d := range csiNode.Spec.Drivers {
			if d.Name == opts.driverName {
				_, iqn, _ = strings.Cut(d.NodeID, ";iqn=")
			}
		}
		Expect(iqn).NotTo(BeEmpty(), "node id of %s has no IQN", pod.Spec.NodeName)
		plugin := kube.nodePluginPod(ctx, pod.Spec.NodeName)
		out, err := kube.execIn(ctx, ns, plugin.Name, "csi-instorage", "sh", "-c",
			`for s in /sys/class/iscsi_session/session*; do echo "$(cat $s/targetname) $(cat $s/username)"; done`)
		Expect(err).NotTo(HaveOccurred())
		users := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if target, user, ok := strings.Cut(l, " "); ok {
				users[target] = user
			}
		}
		targets := strings.Split(va.Status.AttachmentMetadata["targetIQNs"], ",")
		Expect(targets).NotTo(BeEmpty())
		for _, t := range targets {
			Expect(users).To(HaveKeyWithValue(t, iqn), "session to %s (sessions: %q)", t, out)
		}
	})
})
