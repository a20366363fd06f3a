package e2e

// The burst bookkeeping of scale_test.go against a fake API server: what counts
// as running, failed, never created and gone.

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func podIn(ns, name string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Status: corev1.PodStatus{Phase: phase}}
}

func TestParallel_RunsEachIndexOnceAndCollectsErrors(t *testing.T) {
	var seen [20]atomic.Int32
	errs := parallel(20, 3, func(i int) error {
		seen[i].Add(1)
		if i%2 == 1 {
			return fmt.Errorf("pair %d", i)
		}
		return nil
	})
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Errorf("index %d ran %d times", i, n)
		}
	}
	if len(errs) != 10 {
		t.Errorf("want 10 errors, got %d: %v", len(errs), errs)
	}
}

func TestWaitAllRunning(t *testing.T) {
	gomega.RegisterTestingT(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		objs     []runtime.Object
		want     int
		failures []string
	}{
		"all running": {objs: []runtime.Object{podIn("s", "a", corev1.PodRunning), podIn("s", "b", corev1.PodRunning)}, want: 2},
		"one failed": {objs: []runtime.Object{podIn("s", "a", corev1.PodRunning), podIn("s", "b", corev1.PodFailed)}, want: 2,
			failures: []string{"pod b Failed"}},
		"pending at deadline": {objs: []runtime.Object{podIn("s", "a", corev1.PodPending), podIn("s", "b", corev1.PodRunning)}, want: 2,
			failures: []string{"pod a Pending"}},
		"never created": {objs: []runtime.Object{podIn("s", "a", corev1.PodRunning)}, want: 3,
			failures: []string{"2 pods were never created"}},
		"other namespaces do not count": {objs: []runtime.Object{podIn("s", "a", corev1.PodRunning), podIn("t", "b", corev1.PodRunning)}, want: 2,
			failures: []string{"1 pods were never created"}},
	} {
		c := &cluster{cs: fake.NewSimpleClientset(tc.objs...)}
		errs := c.waitAllRunning(ctx, "s", tc.want, time.Now()) // deadline now: one look
		var got []string
		for _, e := range errs {
			got = append(got, e.Error())
		}
		if len(got) != len(tc.failures) {
			t.Errorf("%s: failures %q, want %q", name, got, tc.failures)
			continue
		}
		for i, w := range tc.failures {
			if !strings.HasPrefix(got[i], w) {
				t.Errorf("%s: failure %q, want prefix %q", name, got[i], w)
			}
		}
	}
}

func TestWaitAllGone_WaitsForVolumesOfTheNamespace(t *testing.T) {
	gomega.RegisterTestingT(t)
	ctx := context.Background()
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1"},
		Spec: corev1.PersistentVolumeSpec{ClaimRef: &corev1.ObjectReference{Namespace: "s", Name: "vol-000"}}}
	other := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-2"},
		Spec: corev1.PersistentVolumeSpec{ClaimRef: &corev1.ObjectReference{Namespace: "t", Name: "x"}}}

	c := &cluster{cs: fake.NewSimpleClientset(other)}
	if f := gomega.InterceptGomegaFailures(func() { c.waitAllGone(ctx, "s", time.Now().Add(time.Second)) }); len(f) != 0 {
		t.Errorf("nothing of namespace s is left, yet: %v", f)
	}
	c = &cluster{cs: fake.NewSimpleClientset(pv, other)}
	f := gomega.InterceptGomegaFailures(func() { c.waitAllGone(ctx, "s", time.Now().Add(time.Second)) })
	if len(f) == 0 || !strings.Contains(f[0], "volumes left") {
		t.Errorf("a PV of namespace s is left, want a failure naming it: %v", f)
	}
	// Deleted while waiting: the wait ends with success.
	go func() {
		time.Sleep(500 * time.Millisecond)
		_ = c.cs.CoreV1().PersistentVolumes().Delete(ctx, "pv-1", metav1.DeleteOptions{})
	}()
	if f := gomega.InterceptGomegaFailures(func() { c.waitAllGone(ctx, "s", time.Now().Add(30*time.Second)) }); len(f) != 0 {
		t.Errorf("PV deleted during the wait, yet: %v", f)
	}
}
