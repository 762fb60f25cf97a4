package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/internal/failpoint"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// maybeDraw makes the draw once every agency has finished and every batch it
// announced is settled, then answers the requests that waited for it. It
// counts the batches each agency announced and no others, and says where
// what was stored differs from what was announced.
func (l *lottery) maybeDraw(ctx context.Context) error {
	if !l.state.ready() {
		return nil
	}
	if rejected := l.state.rejected(); len(rejected) > 0 {
		l.log.WithFields(logrus.Fields{"lotes": len(rejected), "detalle": fmt.Sprint(rejected)}).Error(logfmt.LotesRechazados)
	}
	for id := 1; id <= l.cfg.agencies; id++ {
		if announced, stored := l.state.agency[id].bets, l.state.storedBets(id); stored != announced {
			l.log.WithFields(logrus.Fields{"agencia": id, "anunciadas": announced, "guardadas": stored, "diferencia": stored - announced}).Error(logfmt.ApuestasAnunciadas)
		}
	}
	if _, names := l.state.unannounced(); len(names) > 0 {
		l.log.WithFields(logrus.Fields{"lotes": len(names), "detalle": clip(strings.Join(names, ","), maxReasonBytes)}).Error(logfmt.LotesNoAnunciados)
	}
	if err := l.computeWinners(ctx); err != nil {
		return err
	}
	failpoint.Hit("lottery/draw-computed")
	drawn := record{Op: opDrawn}
	l.journal.add(drawn)
	if err := l.journal.commit(); err != nil {
		return err
	}
	l.state.apply(drawn)
	l.log.WithField("ganadores", l.totalWinners()).Info(logfmt.Sorteo)
	failpoint.Hit("lottery/draw-logged")
	return l.answerPending(ctx)
}

// computeWinners reads bets.csv in one streaming pass, leaving out the rows
// of batches no finished event announced. It stops when ctx ends.
func (l *lottery) computeWinners(ctx context.Context) error {
	skip, _ := l.state.unannounced()
	winners := map[int][]string{}
	n := 0
	for b, err := range bet.LoadBetsExcept(l.cfg.betsPath(), skip) {
		if err != nil {
			return err
		}
		if n++; n%(1<<16) == 0 && ctx.Err() != nil {
			return fmt.Errorf("draw: %w", ctx.Err())
		}
		if bet.HasWon(b) {
			winners[b.Agency] = append(winners[b.Agency], strings.Clone(b.Document))
		}
	}
	l.winners = winners
	return nil
}

func (l *lottery) totalWinners() int {
	n := 0
	for _, w := range l.winners {
		n += len(w)
	}
	return n
}

// logWaiting says what the draw still waits for.
func (l *lottery) logWaiting() {
	if l.state.drawn {
		return
	}
	unfinished, batches, bets, missing := l.state.waitingFor()
	l.log.WithFields(logrus.Fields{
		logfmt.ResultKey:         logfmt.InProgress,
		"agencias_sin_finalizar": joinInts(unfinished),
		"lotes_pendientes":       batches,
		"apuestas_pendientes":    bets,
		"lotes_faltantes":        strings.Join(missing, ","),
	}).Info(logfmt.EsperandoSorteo)
}
