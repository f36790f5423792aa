package coverage

import apierrors "k8s.io/apimachinery/pkg/api/errors"

// reason shortens API errors: RBAC denials become "forbidden by RBAC".
func reason(err error) string {
	if apierrors.IsForbidden(err) {
		return "forbidden by RBAC"
	}
	return err.Error()
}
