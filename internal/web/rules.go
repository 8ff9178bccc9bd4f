package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
)

// rulesRoutes are the rules of behavior: the current version of each set,
// for those who oversee compliance (compliance.read, as acknowledgements
// are), and publishing a new version for those who may (rules.manage), as
// the API's route does. Everyone reads and acknowledges the rules that
// apply to them on their account page.
func (w *Web) rulesRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/rules", Perm: auth.ComplianceRead, Handler: w.listRules},
		{Method: "POST", Pattern: "/rules", Perm: auth.RulesManage, Handler: w.publishRules},
	}
}

type rulesRow struct {
	Key, Title, Body, Published, PublishedBy string
	Version                                  int
}

// rulesForm is the form of a new version, as typed: shown again as it
// was when it is refused.
type rulesForm struct {
	Key, Title, Body string
	// New is set when the key is not one already published.
	New bool
}

type rulesData struct {
	Rules      []rulesRow
	CanPublish bool
	Form       rulesForm
	Problem    string
	CSRF, Zone string
}

func (w *Web) listRules(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	f := rulesForm{Key: q.Get("key")}
	return w.rulesPage(rw, r, p, http.StatusOK, q.Get("done"), f, true, "")
}

// rulesPage renders the rules with the publishing form, filled in from
// the current version of f.Key when prefill is set; published names the
// rules just published, which the page confirms when they are current.
func (w *Web) rulesPage(rw http.ResponseWriter, r *http.Request, p auth.Principal, status int, published string, f rulesForm, prefill bool, problem string) error {
	ctx := r.Context()
	rules, err := w.deps.Identity.CurrentRules(ctx)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	names := w.namer()
	flash := ""
	d := rulesData{CanPublish: p.Can(auth.RulesManage), Problem: problem, CSRF: formToken(r), Zone: loc.String()}
	f.New = f.Key != ""
	for _, x := range rules {
		d.Rules = append(d.Rules, rulesRow{Key: x.Key, Title: x.Title, Body: x.Body, Version: x.Version, Published: localText(x.PublishedAt, loc),
			PublishedBy: names.name(ctx, p, x.PublishedBy)})
		if x.Key == published && r.URL.Query().Get("v") == strconv.Itoa(x.Version) {
			flash = fmt.Sprintf("Version %d of %s is published and recorded in the ledger. Each person it applies to acknowledges it before their next use.", x.Version, x.Key)
		}
		if x.Key == f.Key {
			f.New = false
			if prefill {
				f.Title, f.Body = x.Title, x.Body
			}
		}
	}
	d.Form = f
	return w.render(rw, status, "rules", view{Title: "Rules of behavior", Person: who, Flash: flash, Data: d})
}

// maxRulesForm bounds a posted rules form: the longest rules text,
// percent-encoded, and room for the other fields.
const maxRulesForm = 3*200_000 + 16<<10

// formOf parses a posted form of at most limit bytes.
func formOf(rw http.ResponseWriter, r *http.Request, limit int64) error {
	r.Body = http.MaxBytesReader(rw, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return fault.Wrap(err, fault.TooLarge, "the form is too long")
		}
		return fault.Wrap(err, fault.Invalid, "the form could not be read")
	}
	return nil
}

func (w *Web) publishRules(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := formOf(rw, r, maxRulesForm); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	f := rulesForm{Key: r.PostFormValue("key"), Title: r.PostFormValue("title"), Body: r.PostFormValue("body")}
	x, err := w.deps.Identity.PublishRules(r.Context(), p, identity.Rules{Key: f.Key, Title: f.Title, Body: f.Body})
	if err != nil {
		if fault.Is(err, fault.Invalid) || fault.Is(err, fault.Conflict) {
			return w.rulesPage(rw, r, p, pageStatus[fault.CodeOf(err)], "", f, false, fault.MessageOf(err))
		}
		return err
	}
	http.Redirect(rw, r, "/rules?"+url.Values{"done": {x.Key}, "v": {strconv.Itoa(x.Version)}}.Encode(), http.StatusSeeOther)
	return nil
}
