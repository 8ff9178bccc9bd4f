package ledger

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// TrustedVerifiers returns verifiers for the keys a verifier should trust,
// starting from anchors (keys trusted out of band) and drawing on known
// (keys the log says it has used): a known key becomes trusted when it
// signed a checkpoint together with a trusted key, as the checkpoint after a
// key rotation is signed by the old and the new key.
func TrustedVerifiers(anchors, known []string, checkpoints [][]byte) (note.Verifiers, []string, error) {
	keyOf := map[string]string{} // "name+hash" → verifier key
	var all []note.Verifier
	for _, k := range slices.Concat(anchors, known) {
		k = strings.TrimSpace(k)
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, nil, fmt.Errorf("parse verifier key %q: %w", k, err)
		}
		id := fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash())
		if _, dup := keyOf[id]; !dup {
			keyOf[id] = k
			all = append(all, v)
		}
	}
	trusted := map[string]bool{}
	for _, a := range anchors {
		trusted[strings.TrimSpace(a)] = true
	}
	list := note.VerifierList(all...)
	for changed := true; changed; {
		changed = false
		for _, msg := range checkpoints {
			n, err := note.Open(msg, list)
			if err != nil {
				continue
			}
			signers := make([]string, 0, len(n.Sigs))
			endorsed := false
			for _, s := range n.Sigs {
				k := keyOf[fmt.Sprintf("%s+%08x", s.Name, s.Hash)]
				signers = append(signers, k)
				endorsed = endorsed || trusted[k]
			}
			for _, k := range signers {
				if endorsed && !trusted[k] {
					trusted[k] = true
					changed = true
				}
			}
		}
	}
	var keys []string
	for k := range trusted {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return ParseVerifiers(strings.Join(keys, "\n"))
}
