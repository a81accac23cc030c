package blob

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The management plane's view of the blob service properties
// (Microsoft.Storage/storageAccounts/blobServices/default,
// https://learn.microsoft.com/rest/api/storagerp/blob-services/set-service-properties):
// the same setting Get/Set Blob Service Properties serve (props.go), read
// from and written to the same stored XML with the same validation, so an
// ARM PUT changes what the data plane answers and the reverse.

// ServiceProperties is what the management plane shows of an account's
// blob service properties.
type ServiceProperties struct {
	Cors                  []CorsRule
	DeleteRetention       RetentionPolicy
	DefaultServiceVersion string
	StaticWebsite         StaticWebsite
}

// CorsRule is one CORS rule of the blob service.
type CorsRule struct {
	AllowedOrigins  []string
	AllowedMethods  []string
	AllowedHeaders  []string
	ExposedHeaders  []string
	MaxAgeInSeconds int
}

// RetentionPolicy is the blob soft delete policy (softdelete.go): deleted
// blobs are kept Days (1–365) when Enabled.
type RetentionPolicy struct {
	Enabled bool
	Days    int
}

// StaticWebsite is the static website setting (website.go).
type StaticWebsite struct {
	Enabled                  bool
	IndexDocument            string
	DefaultIndexDocumentPath string
	ErrorDocument404Path     string
}

// ServicePropertiesUpdate names what SetServiceProperties changes; a nil
// field stays as it is, as an element left out of Set Blob Service
// Properties does.
type ServicePropertiesUpdate struct {
	Cors                  *[]CorsRule
	DeleteRetention       *RetentionPolicy
	DefaultServiceVersion *string
	StaticWebsite         *StaticWebsite
}

// ErrInvalidServiceProperties reports service properties that Set Blob
// Service Properties would refuse; the error's text says which.
var ErrInvalidServiceProperties = errors.New("invalid blob service properties")

// ServiceProperties returns account's blob service properties.
func (s *Service) ServiceProperties(ctx context.Context, account string) (ServiceProperties, error) {
	p, err := s.loadServiceProperties(ctx, s.reader, account)
	if err != nil {
		return ServiceProperties{}, err
	}
	var out ServiceProperties
	if p.Cors != nil {
		for _, r := range p.Cors.Rules {
			out.Cors = append(out.Cors, CorsRule{
				AllowedOrigins:  splitList(r.AllowedOrigins),
				AllowedMethods:  splitList(r.AllowedMethods),
				AllowedHeaders:  splitList(r.AllowedHeaders),
				ExposedHeaders:  splitList(r.ExposedHeaders),
				MaxAgeInSeconds: r.MaxAgeInSeconds,
			})
		}
	}
	if p.DefaultServiceVersion != nil {
		out.DefaultServiceVersion = *p.DefaultServiceVersion
	}
	if p.DeleteRetentionPolicy != nil {
		var x retentionXML
		if err := xml.Unmarshal([]byte("<p>"+p.DeleteRetentionPolicy.Inner+"</p>"), &x); err != nil {
			return ServiceProperties{}, fmt.Errorf("decoding the delete retention policy: %w", err)
		}
		if x.Enabled != nil {
			out.DeleteRetention.Enabled, _ = parseXMLBool(*x.Enabled)
		}
		if x.Days != nil && out.DeleteRetention.Enabled {
			out.DeleteRetention.Days, _ = strconv.Atoi(strings.TrimSpace(*x.Days))
		}
	}
	site, err := parseWebsite(p.StaticWebsite)
	if err != nil {
		return ServiceProperties{}, fmt.Errorf("decoding the static website: %w", err)
	}
	out.StaticWebsite = StaticWebsite{Enabled: site.Enabled, IndexDocument: site.Index,
		DefaultIndexDocumentPath: site.DefaultIndex, ErrorDocument404Path: site.Error404}
	return out, nil
}

// SetServiceProperties sets what u names of account's blob service
// properties, validated as Set Blob Service Properties validates them.
func (s *Service) SetServiceProperties(ctx context.Context, account string, u ServicePropertiesUpdate) error {
	var in serviceProperties
	if u.Cors != nil {
		if len(*u.Cors) > maxCorsRules {
			return fmt.Errorf("%w: at most %d CORS rules are allowed, not %d", ErrInvalidServiceProperties, maxCorsRules, len(*u.Cors))
		}
		in.Cors = &corsXML{}
		for i, r := range *u.Cors {
			if len(r.AllowedOrigins) == 0 || len(r.AllowedMethods) == 0 {
				return fmt.Errorf("%w: CORS rule %d needs allowedOrigins and allowedMethods", ErrInvalidServiceProperties, i+1)
			}
			if r.MaxAgeInSeconds < 0 {
				return fmt.Errorf("%w: CORS rule %d's maxAgeInSeconds is negative", ErrInvalidServiceProperties, i+1)
			}
			in.Cors.Rules = append(in.Cors.Rules, corsRule{
				AllowedOrigins:  strings.Join(r.AllowedOrigins, ","),
				AllowedMethods:  strings.Join(r.AllowedMethods, ","),
				AllowedHeaders:  strings.Join(r.AllowedHeaders, ","),
				ExposedHeaders:  strings.Join(r.ExposedHeaders, ","),
				MaxAgeInSeconds: r.MaxAgeInSeconds,
			})
		}
	}
	in.DefaultServiceVersion = u.DefaultServiceVersion
	if r := u.DeleteRetention; r != nil {
		if r.Enabled && (r.Days < 1 || r.Days > 365) {
			return fmt.Errorf("%w: the delete retention policy's days must be from 1 to 365, not %d", ErrInvalidServiceProperties, r.Days)
		}
		in.DeleteRetentionPolicy = &rawXML{`<Enabled>false</Enabled>`}
		if r.Enabled {
			in.DeleteRetentionPolicy = &rawXML{fmt.Sprintf(`<Enabled>true</Enabled><Days>%d</Days>`, r.Days)}
		}
	}
	if w := u.StaticWebsite; w != nil {
		var b strings.Builder
		fmt.Fprintf(&b, "<Enabled>%t</Enabled>", w.Enabled)
		for _, e := range []struct{ name, v string }{
			{"IndexDocument", w.IndexDocument},
			{"DefaultIndexDocumentPath", w.DefaultIndexDocumentPath},
			{"ErrorDocument404Path", w.ErrorDocument404Path},
		} {
			if e.v == "" {
				continue
			}
			// Checked before encoding: XML cannot carry control characters.
			if strings.ContainsFunc(e.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				return fmt.Errorf("%w: the static website's %s has a control character", ErrInvalidServiceProperties, e.name)
			}
			b.WriteString("<" + e.name + ">")
			if err := xml.EscapeText(&b, []byte(e.v)); err != nil {
				return fmt.Errorf("encoding the static website: %w", err)
			}
			b.WriteString("</" + e.name + ">")
		}
		in.StaticWebsite = &rawXML{b.String()}
	}
	err := s.storeServiceProperties(ctx, account, in)
	if se := (*storageError)(nil); errors.As(err, &se) && se.Status == 400 {
		return fmt.Errorf("%w: %s", ErrInvalidServiceProperties, se.Message)
	}
	return err
}
