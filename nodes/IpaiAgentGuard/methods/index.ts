/** The credential test (Agent Guard has no dropdowns). */
import { testLakehouseCredential } from '../../shared/lakehouse';

export const credentialTest = { lakehouseConnectionTest: testLakehouseCredential };
