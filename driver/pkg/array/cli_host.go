package array

import (
	"context"
	"fmt"
)

func hostFrom(r *record) Host {
	return Host{
		ID: r.get("id"), Name: r.get("name"), Status: r.get("status"),
		SiteID: r.get("site_id"), SiteName: r.get("site_name"),
		ISCSINames: r.all("iscsi_name"), WWPNs: r.all("WWPN"),
	}
}

// LsHosts is the list view; ports are only in the detail view (§4.3).
func (c *CLI) LsHosts(ctx context.Context) ([]Host, error) {
	out, err := c.query(ctx, "lshost", "-delim", delim)
	if err != nil {
		return nil, err
	}
	var res []Host
	for _, r := range parseList(out) {
		res = append(res, hostFrom(r))
	}
	return res, nil
}

// LsHost is the detail view with every iscsi_name and WWPN (repeated keys).
func (c *CLI) LsHost(ctx context.Context, nameOrID string) (Host, error) {
	if err := checkNameOrID("host", nameOrID); err != nil {
		return Host{}, err
	}
	out, err := c.query(ctx, "lshost", "-delim", delim, nameOrID)
	if err != nil {
		return Host{}, err
	}
	secs := parseDetail(out)
	if len(secs) == 0 {
		return Host{}, fmt.Errorf("%w: lshost %s printed nothing", ErrUnexpectedOutput, nameOrID)
	}
	// §4.3 says lshost detail has no blank lines; merge any sections anyway
	// so no port is lost.
	h := hostFrom(secs[0])
	for _, s := range secs[1:] {
		h.ISCSINames = append(h.ISCSINames, s.all("iscsi_name")...)
		h.WWPNs = append(h.WWPNs, s.all("WWPN")...)
	}
	return h, nil
}

// MkHost is `mkhost -force -iscsiname <IQN>|-hbawwpn <WWPN> -name <h> [-site <s>]` (§4.3).
func (c *CLI) MkHost(ctx context.Context, a MkHostArgs) (string, error) {
	if err := checkName("host name", a.Name); err != nil {
		return "", err
	}
	argv := []string{"mkhost", "-force"}
	switch {
	case a.IQN != "" && a.WWPN == "":
		if err := checkIQN(a.IQN); err != nil {
			return "", err
		}
		argv = append(argv, "-iscsiname", a.IQN)
	case a.WWPN != "" && a.IQN == "":
		if err := checkWWPN(a.WWPN); err != nil {
			return "", err
		}
		argv = append(argv, "-hbawwpn", a.WWPN)
	default:
		return "", invalidf("host %s: exactly one of IQN or WWPN is required", a.Name)
	}
	argv = append(argv, "-name", a.Name)
	if a.Site != "" {
		if err := checkNameOrID("site", a.Site); err != nil {
			return "", err
		}
		argv = append(argv, "-site", a.Site)
	}
	return c.create(ctx, argv...)
}

// AddHostPort is `addhostport -force -iscsiname|-hbawwpn <port> <host>`.
func (c *CLI) AddHostPort(ctx context.Context, host string, iqn, wwpn string) error {
	if err := checkNameOrID("host", host); err != nil {
		return err
	}
	switch {
	case iqn != "" && wwpn == "":
		if err := checkIQN(iqn); err != nil {
			return err
		}
		return c.op(ctx, "addhostport", "-force", "-iscsiname", iqn, host)
	case wwpn != "" && iqn == "":
		if err := checkWWPN(wwpn); err != nil {
			return err
		}
		return c.op(ctx, "addhostport", "-force", "-hbawwpn", wwpn, host)
	}
	return invalidf("addhostport %s: exactly one of IQN or WWPN is required", host)
}

// LsISCSIAuth is `lsiscsiauth` (§4.3). The exec path logs only the byte
// count of stdout, so the secrets it carries stay out of the logs.
func (c *CLI) LsISCSIAuth(ctx context.Context) ([]ISCSIAuth, error) {
	out, err := c.query(ctx, "lsiscsiauth", "-delim", delim)
	if err != nil {
		return nil, err
	}
	var res []ISCSIAuth
	for _, r := range parseList(out) {
		res = append(res, ISCSIAuth{Type: r.get("type"), ID: r.get("id"), Name: r.get("name"),
			Method: r.get("iscsi_auth_method"), Secret: r.get("iscsi_chap_secret")})
	}
	return res, nil
}

// ChHostCHAPSecret is `chhost -chapsecret <secret> <host>`; the secret is
// redacted from every log line and error (see redact).
func (c *CLI) ChHostCHAPSecret(ctx context.Context, host, secret string) error {
	if err := checkNameOrID("host", host); err != nil {
		return err
	}
	if !chapRE.MatchString(secret) {
		// Never echo the secret itself.
		return invalidf("chap secret for host %s: must be %s", host, CHAPSecretRule)
	}
	return c.op(ctx, "chhost", "-chapsecret", secret, host)
}

func (c *CLI) RmHost(ctx context.Context, host string) error {
	if err := checkNameOrID("host", host); err != nil {
		return err
	}
	return c.op(ctx, "rmhost", host)
}
