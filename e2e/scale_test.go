package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gmeasure"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Scale specs time what users wait for: a claim until its pod runs, and many
// claims at once. They are slow (a burst of 50 takes 15+ minutes on a TCG VM)
// and run only when the label filter asks for them (-ginkgo.label-filter=scale).
var _ = Describe("Scale", Label("scale", "datapath"), func() {
	BeforeEach(func() {
		if !strings.Contains(GinkgoLabelFilter(), "scale") {
			Skip("scale specs run only when asked: -ginkgo.label-filter=scale")
		}
	})

	It("times PVC creation to a Running pod with the volume mounted, one pair after another", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		exp := gmeasure.NewExperiment("PVC creation to pod Running")
		AddReportEntry(exp.Name, exp)
		for i := range opts.scaleRuns {
			claim, pod := fmt.Sprintf("vol-%d", i), fmt.Sprintf("app-%d", i)
			exp.MeasureDuration("pvc-to-running", func() {
				kube.createPVC(ctx, e.ns, pvcSpec{name: claim, class: opts.classBasic, size: "1Gi"})
				_, err := kube.cs.CoreV1().Pods(e.ns).Create(ctx, newPod(e.ns, pod, "", volume{claim: claim}), metav1.CreateOptions{})
				Expect(err).NotTo(HaveOccurred(), "create pod %s", pod)
				kube.waitRunning(ctx, e.ns, pod, opts.timeout)
			})
			// Running means kubelet staged and mounted it: prove it is a fresh ext4 that keeps data.
			Expect(kube.sh(ctx, e.ns, pod, "stat -f -c %T "+mountPath)).To(Equal("ext2/ext3"))
			sum := kube.writeData(ctx, e.ns, pod, false, "f")
			Expect(kube.readData(ctx, e.ns, pod, false, "f")).To(Equal(sum))
		}
		st := exp.GetStats("pvc-to-running")
		line := fmt.Sprintf("PVC creation to pod Running (class %s, n=%d): median %s, max %s",
			opts.classBasic, opts.scaleRuns, st.DurationFor(gmeasure.StatMedian).Round(10*time.Millisecond),
			st.DurationFor(gmeasure.StatMax).Round(10*time.Millisecond))
		AddReportEntry("pvc-to-running", line, ReportEntryVisibilityAlways)
		GinkgoWriter.Println(line)
	})

	It("creates -burst PVC+pod pairs at once, then deletes them at once, without failures or leaks", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		n := opts.burst
		Expect(n).To(BeNumerically(">", 0), "-burst")
		name := func(kind string, i int) string { return fmt.Sprintf("%s-%03d", kind, i) }

		start := time.Now()
		createErrs := parallel(n, 8, func(i int) error {
			if _, err := kube.cs.CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, burstPVC(e.ns, name("vol", i)), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create PVC %s: %w", name("vol", i), err)
			}
			_, err := kube.cs.CoreV1().Pods(e.ns).Create(ctx, newPod(e.ns, name("app", i), "", volume{claim: name("vol", i)}), metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("create pod %s: %w", name("app", i), err)
			}
			return nil
		})
		created := time.Since(start)
		failures := kube.waitAllRunning(ctx, e.ns, n, start.Add(opts.burstTimeout))
		running := time.Since(start)
		failures = append(createErrs, failures...)
		report := fmt.Sprintf("burst of %d PVC+pod pairs: created in %s, all Running after %s, failures %d",
			n, created.Round(time.Second), running.Round(time.Second), len(failures))
		AddReportEntry("burst-running", report, ReportEntryVisibilityAlways)
		GinkgoWriter.Println(report)
		Expect(failures).To(BeEmpty(), "pairs that did not run")

		del := time.Now()
		Expect(kube.cs.CoreV1().Pods(e.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})).To(Succeed())
		Expect(kube.cs.CoreV1().PersistentVolumeClaims(e.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})).To(Succeed())
		kube.waitAllGone(ctx, e.ns, del.Add(opts.burstTimeout))
		gone := time.Since(del)
		report = fmt.Sprintf("burst of %d: pods, claims, volumes and attachments all gone %s after the delete", n, gone.Round(time.Second))
		AddReportEntry("burst-gone", report, ReportEntryVisibilityAlways)
		GinkgoWriter.Println(report)
		// The spec's cleanup then checks the arrays for leaked vdisks and mappings.
	})
})

func burstPVC(ns, name string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(opts.classBasic),
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			},
		},
	}
}

// parallel runs f(0..n-1) on workers goroutines and returns every error.
func parallel(n, workers int, f func(i int) error) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// waitAllRunning polls the namespace until want pods run, one fails, or the
// deadline passes; it returns one error per pod that did not run.
func (c *cluster) waitAllRunning(ctx context.Context, ns string, want int, deadline time.Time) []error {
	GinkgoHelper()
	for {
		pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		running, failed := 0, []string{}
		for _, p := range pods.Items {
			switch p.Status.Phase {
			case corev1.PodRunning:
				running++
			case corev1.PodFailed:
				failed = append(failed, p.Name)
			}
		}
		GinkgoWriter.Printf("%s: %d/%d pods Running, %d failed\n", time.Now().Format(time.TimeOnly), running, want, len(failed))
		if running == want && len(pods.Items) == want {
			return nil
		}
		if len(failed) > 0 || time.Now().After(deadline) || ctx.Err() != nil {
			var errs []error
			for _, p := range pods.Items {
				if p.Status.Phase != corev1.PodRunning {
					errs = append(errs, fmt.Errorf("pod %s %s: %s", p.Name, p.Status.Phase, c.events(ctx, ns, p.Name)))
				}
			}
			if missing := want - len(pods.Items); missing > 0 {
				errs = append(errs, fmt.Errorf("%d pods were never created", missing))
			}
			sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
			return errs
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// waitAllGone waits until the namespace holds no pod or claim, and no PV or
// VolumeAttachment of its claims is left (so the vdisks are deleted and unmapped).
func (c *cluster) waitAllGone(ctx context.Context, ns string, deadline time.Time) {
	GinkgoHelper()
	Eventually(ctx, func(g Gomega) {
		pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		pvcs, err := c.cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		pvs, err := c.cs.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		vas, err := c.cs.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		mine := map[string]bool{}
		for _, pv := range pvs.Items {
			if pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.Namespace == ns {
				mine[pv.Name] = true
			}
		}
		attached := 0
		for _, va := range vas.Items {
			if mine[ptr.Deref(va.Spec.Source.PersistentVolumeName, "")] {
				attached++
			}
		}
		GinkgoWriter.Printf("%s: left %d pods, %d claims, %d volumes, %d attachments\n",
			time.Now().Format(time.TimeOnly), len(pods.Items), len(pvcs.Items), len(mine), attached)
		g.Expect(pods.Items).To(BeEmpty(), "pods left")
		g.Expect(pvcs.Items).To(BeEmpty(), "claims left")
		g.Expect(mine).To(BeEmpty(), "volumes left")
		g.Expect(attached).To(BeZero(), "attachments left")
	}).WithTimeout(time.Until(deadline)).WithPolling(5 * time.Second).Should(Succeed())
}
