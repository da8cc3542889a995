// Scratch: a logging webhook for fact-finding (not committed).
import { createServer } from 'node:https';
import { writeFileSync, appendFileSync } from 'node:fs';
import { createCA, issueServingCertificate } from './src/tls/index.ts';
const ca = await createCA('facts', { days: 1 });
const s = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], days: 1 });
writeFileSync('/tmp/proof/ca.b64', Buffer.from(ca.cert).toString('base64'));
const server = createServer({ cert: s.cert, key: s.key }, (req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const review = JSON.parse(body);
    const obj = review.request.object;
    const ann = obj.metadata.annotations ?? {};
    appendFileSync('/tmp/proof/hook.log', JSON.stringify({ path: req.url, annotations: ann, containers: obj.spec.containers.map((c: any) => ({ name: c.name, env: c.env })), init: (obj.spec.initContainers ?? []).map((c: any) => c.name) }) + '\n');
    const patch: any[] = [];
    if (req.url?.startsWith('/mutate') && !('webhook-ran' in ann)) patch.push({ op: 'add', path: '/metadata/annotations/webhook-ran', value: 'yes' });
    const response: any = { uid: review.request.uid, allowed: true };
    if (patch.length) { response.patchType = 'JSONPatch'; response.patch = Buffer.from(JSON.stringify(patch)).toString('base64'); }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
  });
});
server.listen(18443, '127.0.0.1', () => console.log('listening'));
