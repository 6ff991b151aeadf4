/**
 * The clusters' hack/fake-cloud.ts stands in for cert-manager where only its CRDs are installed:
 * it self-signs every Certificate, faster than the real controller. An in-tree admission policy
 * (no webhook) refuses its writes to Secrets in namespaces labelled for the real controller, so
 * the real one issues them there (the e2e tests, and `npm start`'s demo on real nodes).
 */
import type { KubeObject } from '../operator/kube/types.js';

/** Set to `real` on a namespace whose certificates the real cert-manager controller issues. */
export const REAL_CERT_MANAGER_LABEL = 'webstack.dev/cert-manager';

const NAME = 'webstack-e2e-real-cert-manager';

export const FAKE_CERTIFICATES_GUARD: readonly KubeObject[] = [
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: NAME },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['secrets'] }],
        namespaceSelector: { matchLabels: { [REAL_CERT_MANAGER_LABEL]: 'real' } },
      },
      validations: [
        {
          // Its server-side applies name their field manager; cert-manager's annotations stay, so only this tells them apart.
          expression: "!has(object.metadata.managedFields) || !object.metadata.managedFields.exists(m, m.manager == 'fake-cloud')",
          message: 'this namespace gets its certificates from the real cert-manager controller, not from hack/fake-cloud.ts',
        },
      ],
    },
  } as KubeObject,
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: NAME }, spec: { policyName: NAME, validationActions: ['Deny'] } } as KubeObject,
];
