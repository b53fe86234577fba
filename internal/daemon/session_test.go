package daemon

import (
	"context"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
)

// ctxProbe records whether the context a write received was already done.
type ctxProbe struct {
	engine.Remote
	cancelled bool
}

func (p *ctxProbe) CreateForward(ctx context.Context, _ engine.Forward) error {
	p.cancelled = ctx.Err() != nil
	return nil
}

func TestShieldLetsWriteInFlightFinish(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &ctxProbe{}
	if err := (shield{p}).CreateForward(ctx, engine.Forward{}); err != nil {
		t.Fatal(err)
	}
	if p.cancelled {
		t.Error("the write got the cancelled context; a stop would abort it mid-request")
	}
}
