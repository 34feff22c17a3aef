package fakecloud

import (
	"net/http"
	"strings"
)

// The sandbox's Cloud Resource Manager: a project's IAM policy only
// (projects.getIamPolicy and setIamPolicy, v1 and v3, POST
// /v1/projects/P:getIamPolicy and /v3/projects/P:getIamPolicy), so a
// check can see a binding that sits on the project rather than the key.
// gcloud reaches it with CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER.

const (
	permProjectsGetIAM = "resourcemanager.projects.getIamPolicy"
	permProjectsSetIAM = "resourcemanager.projects.setIamPolicy"
)

// crmProject reads the project and verb of a Resource Manager request.
func crmProject(path string) (project, verb string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/v1/projects/")
	if !ok {
		rest, ok = strings.CutPrefix(path, "/v3/projects/")
	}
	if !ok {
		return "", "", false
	}
	project, verb, ok = strings.Cut(rest, ":")
	return project, verb, ok && project != "" && !strings.Contains(project, "/")
}

func (s *Sandbox) serveCRM(w http.ResponseWriter, r *http.Request, body []byte, id *GCPIdentity, project, verb string) {
	var perm string
	switch {
	case verb == "getIamPolicy" && r.Method == http.MethodPost:
		perm = permProjectsGetIAM
	case verb == "setIamPolicy" && r.Method == http.MethodPost:
		perm = permProjectsSetIAM
	default:
		writeGCPError(w, gcpErr("NOT_FOUND", "The rekwiz sandbox does not serve %s %s.", r.Method, r.URL.Path))
		return
	}
	if f := s.applyFaults("cloudresourcemanager", verb, id.Name); f != nil {
		writeGCPError(w, faultError(f, perm, "projects/"+project))
		return
	}
	s.mu.Lock()
	var (
		out any
		err *gcpError
	)
	pol := s.gcp.projects[project]
	switch {
	case pol == nil || !s.gcpAllowed(id, perm, gcpPath{project: project}):
		// Resource Manager names the project as //cloudresourcemanager….
		err = gcpErr("PERMISSION_DENIED", "The caller does not have permission")
	case verb == "getIamPolicy":
		out = policyJSON(pol)
	default:
		out, err = s.setPolicy(pol, body, func(b gcpBinding) *gcpError { return checkMembers(b, "projects/"+project) })
	}
	s.mu.Unlock()
	if err != nil {
		s.logf("cloudresourcemanager %s projects/%s %s -> %s", verb, project, id.Name, err.status)
		writeGCPError(w, err)
		return
	}
	s.logf("cloudresourcemanager %s projects/%s %s -> ok", verb, project, id.Name)
	writeGCPJSON(w, http.StatusOK, out)
}
